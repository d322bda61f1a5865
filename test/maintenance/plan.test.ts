import { planFrom } from '../../src/workflows/maintenance/contract';
import { testConfig } from '../harness';

describe('maintenance planFrom', () => {
  it('lays out the steps from the configuration', () => {
    expect(planFrom(testConfig())).toEqual({
      name: testConfig().name,
      databases: ['app'],
      cleanup: [
        { name: 'conversation-summaries', database: 'app' },
        { name: 'health-checks', database: 'app' },
        { name: 'failed-tasks', database: 'app' },
      ],
      vacuumFullTables: [],
      dependencyReport: false,
      backupDatabases: ['app'],
      chat: ['slack'],
    });
  });

  it('reports dependencies only with an application checkout, and posts to every configured chat', () => {
    const base = testConfig();
    const plan = planFrom(
      testConfig({
        maintenance: { ...base.maintenance, appCheckout: '/srv/app' },
        notifications: { ...base.notifications, telegram: { botTokenEnv: 'TELEGRAM_BOT_TOKEN', chatId: '1' } },
      }),
    );
    expect(plan.dependencyReport).toBe(true);
    expect(plan.chat).toEqual(['slack', 'telegram']);
  });
});
