import { CreateRealtimeTables1763800000000 } from '../../migrations/1763800000000-CreateRealtimeTables.js';
import { AdminRoleListsItsPermissions1796601600000 } from '../../migrations/1796601600000-AdminRoleListsItsPermissions.js';
import { AuditLogFindsDisconnects1796688000000 } from '../../migrations/1796688000000-AuditLogFindsDisconnects.js';
import { AuditEntryEntity } from '../audit/audit-entry.entity.js';
import { RoleAssignmentEntity } from '../authorization/role-assignment.entity.js';
import { RolePermissionEntity } from '../authorization/role-permission.entity.js';
import { RoleEntity } from '../authorization/role.entity.js';
import { MessageEntity } from '../messages/message.entity.js';
import { RoomEntity } from '../rooms/room.entity.js';

/** Every entity of the module: a host that shares its DataSource adds these to it. */
export const realtimeEntities = [
  RoomEntity,
  MessageEntity,
  RoleEntity,
  RolePermissionEntity,
  RoleAssignmentEntity,
  AuditEntryEntity,
];

/** Every migration of the module, oldest first, for the same SQLite or PostgreSQL schema. */
export const realtimeMigrations = [
  CreateRealtimeTables1763800000000,
  AdminRoleListsItsPermissions1796601600000,
  AuditLogFindsDisconnects1796688000000,
];
