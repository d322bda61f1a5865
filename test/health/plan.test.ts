import { planFrom } from '../../src/workflows/health/contract';
import { testConfig } from '../harness';

describe('health planFrom', () => {
  it('fans out over every service and database, and the check groups that are configured', () => {
    const config = testConfig();
    expect(planFrom(config)).toEqual({
      services: config.services.map((s) => s.name),
      databases: ['app'],
      providers: true,
      supabase: true,
      tlsHosts: true,
      sqlRules: true,
    });
  });

  it('leaves out the groups with nothing configured', () => {
    const base = testConfig();
    const plan = planFrom(
      testConfig({
        maintenance: { ...base.maintenance, tlsHosts: [], sqlAlertRules: [], botWebhooks: [] },
        platforms: { ...base.platforms, providers: {}, supabase: { ...base.platforms.supabase, projectRef: undefined, edgeFunctions: [] } },
      }),
    );
    expect(plan).toMatchObject({ providers: false, supabase: false, tlsHosts: false, sqlRules: false });
  });
});
