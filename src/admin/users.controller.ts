import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery } from '@nestjs/swagger';
import type { AuthenticatedUser } from '../auth/authenticated-user.js';
import { CurrentUser } from '../auth/current-user.decorator.js';
import { RoleAssignmentsService } from '../authorization/role-assignments.service.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { AdminApi } from './admin-api.decorator.js';
import { AssignmentScopeDto } from './dto/admin.dto.js';
import { UserIdPipe } from './param.pipes.js';

@Controller('admin/users')
@AdminApi('users')
export class UsersController {
  constructor(
    private readonly assignments: RoleAssignmentsService,
    private readonly delivery: DeliveryService,
  ) {}

  @Get(':userId/roles')
  @ApiOperation({ summary: "A user's role assignments in the caller's tenant" })
  list(@CurrentUser() user: AuthenticatedUser, @Param('userId', UserIdPipe) userId: string) {
    return this.assignments.list(user.tenantId, userId);
  }

  @Put(':userId/roles/:role')
  @ApiOperation({ summary: 'Grant a role, everywhere or in a scope (201 when new, 200 when already held)' })
  async grant(
    @CurrentUser() user: AuthenticatedUser,
    @Param('userId', UserIdPipe) userId: string,
    @Param('role') role: string,
    @Body() body: AssignmentScopeDto,
    @Res({ passthrough: true }) response: { status(code: number): void },
  ) {
    const { created, assignment } = await this.assignments.grant(user, userId, role, body.scope);
    response.status(created ? 201 : 200);
    return { userId, ...assignment };
  }

  @Delete(':userId/roles/:role')
  @ApiOperation({ summary: 'Revoke a role: in one scope (body or ?scope=), or in every scope when none is given' })
  @ApiQuery({ name: 'scope', required: false })
  revoke(
    @CurrentUser() user: AuthenticatedUser,
    @Param('userId', UserIdPipe) userId: string,
    @Param('role') role: string,
    @Body() body: AssignmentScopeDto,
    @Query() query: AssignmentScopeDto,
  ) {
    return this.assignments.revoke(user, userId, role, body?.scope ?? query.scope);
  }

  @Post(':userId/disconnect')
  @HttpCode(200)
  @ApiOperation({ summary: "Close the user's sockets on every node with code 4003" })
  async disconnect(@CurrentUser() user: AuthenticatedUser, @Param('userId', UserIdPipe) userId: string) {
    await this.delivery.disconnectUser(user, userId);
    return { userId };
  }
}
