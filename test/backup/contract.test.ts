import { planFrom } from '../../src/workflows/backup/contract';
import { backupConfig } from './helpers';

describe('backup plan', () => {
  it('sends transfers to the dedicated queue only when the configuration names one', () => {
    const store = { type: 'directory', path: '/tmp/backups' };
    expect(planFrom(backupConfig(['app'], { store, transferTaskQueue: 'backup-transfers' }))).toEqual({
      transferTaskQueue: 'backup-transfers',
    });
    expect(planFrom(backupConfig(['app'], { store })).transferTaskQueue).toBeUndefined();
  });
});
