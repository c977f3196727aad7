import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * The audit log indexed by action and time: a node back in touch with the
 * others after a Redis outage reads the disconnects it missed from it.
 */
export class AuditLogFindsDisconnects1796688000000 implements MigrationInterface {
  name = 'AuditLogFindsDisconnects1796688000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'switchboard_audit_log',
      new TableIndex({ name: 'ix_switchboard_audit_log_action_at', columnNames: ['action', 'at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('switchboard_audit_log', 'ix_switchboard_audit_log_action_at');
  }
}
