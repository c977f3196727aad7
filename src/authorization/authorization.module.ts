import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { AuthorizationService } from './authorization.service.js';
import { HttpPermissionGuard, RoomPermissionGuard } from './http-permission.guard.js';
import { RoleAssignmentEntity } from './role-assignment.entity.js';
import { RoleAssignmentsService } from './role-assignments.service.js';
import { RolePermissionEntity } from './role-permission.entity.js';
import { RoleEntity } from './role.entity.js';
import { RolesService } from './roles.service.js';

@Module({
  imports: [
    TypeOrmModule.forFeature([RoleEntity, RolePermissionEntity, RoleAssignmentEntity], REALTIME_CONNECTION),
    AuditModule,
  ],
  providers: [AuthorizationService, RolesService, RoleAssignmentsService, HttpPermissionGuard, RoomPermissionGuard],
  exports: [AuthorizationService, RolesService, RoleAssignmentsService, HttpPermissionGuard, RoomPermissionGuard],
})
export class AuthorizationModule {}
