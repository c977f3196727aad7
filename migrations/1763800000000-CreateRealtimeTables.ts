import { Table, TableIndex, TableUnique, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Written with TypeORM's schema builder so one migration serves SQLite and
 * PostgreSQL. Times are epoch milliseconds in `bigint` columns on both.
 */
export class CreateRealtimeTables1763800000000 implements MigrationInterface {
  name = 'CreateRealtimeTables1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'switchboard_rooms',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'tenant_id', type: 'varchar', length: '255', default: "''" },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'title', type: 'varchar', length: '255', isNullable: true },
          { name: 'last_seq', type: 'bigint', default: 0 },
          { name: 'created_at', type: 'bigint' },
          { name: 'archived_at', type: 'bigint', isNullable: true },
        ],
        uniques: [new TableUnique({ name: 'uq_switchboard_rooms_tenant_name', columnNames: ['tenant_id', 'name'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'switchboard_messages',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'room_id', type: 'integer' },
          { name: 'seq', type: 'bigint' },
          { name: 'sender_id', type: 'varchar', length: '255' },
          { name: 'sender_name', type: 'varchar', length: '255' },
          { name: 'client_msg_id', type: 'varchar', length: '64' },
          { name: 'text', type: 'text', isNullable: true },
          { name: 'payload', type: 'text', isNullable: true },
          { name: 'sent_at', type: 'bigint' },
          { name: 'edited_at', type: 'bigint', isNullable: true },
          { name: 'deleted_at', type: 'bigint', isNullable: true },
        ],
        uniques: [
          new TableUnique({ name: 'uq_switchboard_messages_room_seq', columnNames: ['room_id', 'seq'] }),
          new TableUnique({
            name: 'uq_switchboard_messages_room_sender_client_msg',
            columnNames: ['room_id', 'sender_id', 'client_msg_id'],
          }),
        ],
        foreignKeys: [
          {
            name: 'fk_switchboard_messages_room',
            columnNames: ['room_id'],
            referencedTableName: 'switchboard_rooms',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'switchboard_roles',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '255', isPrimary: true },
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'description', type: 'varchar', length: '500', default: "''" },
          { name: 'created_at', type: 'bigint' },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'switchboard_role_permissions',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '255', isPrimary: true },
          { name: 'role_name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'permission', type: 'varchar', length: '64', isPrimary: true },
        ],
        foreignKeys: [
          {
            name: 'fk_switchboard_role_permissions_role',
            columnNames: ['tenant_id', 'role_name'],
            referencedTableName: 'switchboard_roles',
            referencedColumnNames: ['tenant_id', 'name'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'switchboard_role_assignments',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'tenant_id', type: 'varchar', length: '255' },
          { name: 'user_id', type: 'varchar', length: '255' },
          { name: 'role_name', type: 'varchar', length: '64' },
          { name: 'scope', type: 'varchar', length: '129' },
          { name: 'created_at', type: 'bigint' },
        ],
        uniques: [
          new TableUnique({
            name: 'uq_switchboard_role_assignments',
            columnNames: ['tenant_id', 'user_id', 'role_name', 'scope'],
          }),
        ],
        indices: [new TableIndex({ name: 'ix_switchboard_role_assignments_user', columnNames: ['tenant_id', 'user_id'] })],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'switchboard_audit_log',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'tenant_id', type: 'varchar', length: '255' },
          { name: 'actor_id', type: 'varchar', length: '255' },
          { name: 'actor_tenant_id', type: 'varchar', length: '255' },
          { name: 'action', type: 'varchar', length: '64' },
          { name: 'target', type: 'varchar', length: '500' },
          { name: 'details', type: 'text' },
          { name: 'at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'ix_switchboard_audit_log_tenant', columnNames: ['tenant_id', 'id'] })],
      }),
    );

    // The seeded roles of the contract, shared by every tenant (tenant '*', which no token can name).
    const seededRoles: Array<[string, string, string[]]> = [
      ['admin', 'Everything, including the admin API', ['*']],
      [
        'moderator',
        'A member who may also edit and delete anyone\'s messages',
        ['room.join', 'message.send', 'history.read', 'message.edit', 'message.delete', 'presence.read', 'message.edit.any', 'message.delete.any'],
      ],
      ['member', 'Joins rooms, chats, edits and deletes own messages', ['room.join', 'message.send', 'history.read', 'message.edit', 'message.delete', 'presence.read']],
      ['viewer', 'Reads rooms without writing', ['room.join', 'history.read', 'presence.read']],
    ];
    for (const [name, description, permissions] of seededRoles) {
      await queryRunner.query(
        `INSERT INTO switchboard_roles (tenant_id, name, description, created_at, updated_at) VALUES ('*', '${name}', '${description.replace(/'/g, "''")}', 0, 0)`,
      );
      for (const permission of permissions) {
        await queryRunner.query(
          `INSERT INTO switchboard_role_permissions (tenant_id, role_name, permission) VALUES ('*', '${name}', '${permission}')`,
        );
      }
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'switchboard_audit_log',
      'switchboard_role_assignments',
      'switchboard_role_permissions',
      'switchboard_roles',
      'switchboard_messages',
      'switchboard_rooms',
    ]) {
      await queryRunner.dropTable(table);
    }
  }
}
