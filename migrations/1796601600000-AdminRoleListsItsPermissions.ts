import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The permission keys of this version, written out: a migration keeps meaning
 * what it meant when it was written, whatever later versions add. A version
 * that adds a permission grants it to `admin` in a migration of its own.
 */
const PERMISSIONS = [
  'room.join',
  'message.send',
  'message.edit',
  'message.edit.any',
  'message.delete',
  'message.delete.any',
  'history.read',
  'presence.read',
  'admin.manage',
];
const KEYS = PERMISSIONS.map((key) => `'${key}'`).join(', ');
const KEY_ROWS = PERMISSIONS.map((key) => `SELECT '${key}' AS permission`).join(' UNION ALL ');

/**
 * A role whose permissions were the wildcard `*` (the seeded `admin`, a
 * tenant's copy of it, or a role made with it) lists every permission key
 * instead, so `GET /admin/roles` shows what the role grants and every key a
 * role holds is one of the catalogue's.
 */
export class AdminRoleListsItsPermissions1796601600000 implements MigrationInterface {
  name = 'AdminRoleListsItsPermissions1796601600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO switchboard_role_permissions (tenant_id, role_name, permission)
      SELECT p.tenant_id, p.role_name, k.permission FROM switchboard_role_permissions p CROSS JOIN (${KEY_ROWS}) k
      WHERE p.permission = '*' AND NOT EXISTS (
        SELECT 1 FROM switchboard_role_permissions q
        WHERE q.tenant_id = p.tenant_id AND q.role_name = p.role_name AND q.permission = k.permission
      )`);
    await queryRunner.query(`DELETE FROM switchboard_role_permissions WHERE permission = '*'`);
  }

  /** A role that holds every key of this version goes back to `*`. */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      INSERT INTO switchboard_role_permissions (tenant_id, role_name, permission)
      SELECT tenant_id, role_name, '*' FROM switchboard_role_permissions WHERE permission IN (${KEYS})
      GROUP BY tenant_id, role_name HAVING COUNT(*) = ${PERMISSIONS.length}`);
    await queryRunner.query(`
      DELETE FROM switchboard_role_permissions WHERE permission <> '*' AND EXISTS (
        SELECT 1 FROM switchboard_role_permissions q
        WHERE q.tenant_id = switchboard_role_permissions.tenant_id AND q.role_name = switchboard_role_permissions.role_name AND q.permission = '*'
      )`);
  }
}
