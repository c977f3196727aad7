import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { PERMISSION_CATALOGUE } from '../authorization/permissions.js';
import { RolesService } from '../authorization/roles.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { CreateRoleDto, UpdateRoleDto } from './dto/admin.dto.js';

@Controller('admin')
@AdminApi('roles')
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @Get('permissions')
  @ApiOperation({ summary: 'The permission catalogue: each key, what it allows, the events and routes it guards' })
  permissions() {
    return PERMISSION_CATALOGUE;
  }

  @Get('roles')
  @ApiOperation({ summary: "The roles of the caller's tenant, shared ones included" })
  list(@CurrentUser() user: AuthenticatedUser) {
    return this.roles.list(user.tenantId);
  }

  @Post('roles')
  @ApiOperation({ summary: 'Create a role (409 if the name exists, 400 for an unknown permission)' })
  create(@CurrentUser() user: AuthenticatedUser, @Body() body: CreateRoleDto) {
    return this.roles.create(user, body);
  }

  @Get('roles/:name')
  get(@CurrentUser() user: AuthenticatedUser, @Param('name') name: string) {
    return this.roles.get(user.tenantId, name);
  }

  @Patch('roles/:name')
  @ApiOperation({ summary: "Change a role's description or permissions; applies to live sockets at once" })
  update(@CurrentUser() user: AuthenticatedUser, @Param('name') name: string, @Body() body: UpdateRoleDto) {
    return this.roles.update(user, name, body);
  }

  @Delete('roles/:name')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a role and its assignments (409 for admin)' })
  async remove(@CurrentUser() user: AuthenticatedUser, @Param('name') name: string): Promise<void> {
    await this.roles.remove(user, name);
  }
}
