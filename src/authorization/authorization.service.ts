import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, type Repository } from 'typeorm';
import { tenantKeyPrefix, userKey, type AuthenticatedUser } from '../auth/authenticated-user.js';
import { Broker } from '../broker/broker.js';
import { REALTIME_CONNECTION } from '../database/data-source-options.js';
import { withStorage } from '../database/storage-failure.js';
import { RealtimeError } from '../protocol/error-codes.js';
import { REALTIME_OPTIONS, type ResolvedRealtimeOptions } from '../realtime-options.js';
import { EffectivePermissions, resolvePermissions } from './permission-resolution.js';
import { RoleAssignmentEntity } from './role-assignment.entity.js';
import { RolePermissionEntity } from './role-permission.entity.js';
import { RoleEntity, SHARED_ROLE_TENANT } from './role.entity.js';

/** Called with the tenant and, when only one user's permissions changed, that user. */
export type PermissionsChangedListener = (tenantId: string, userId: string | undefined) => void;


/**
 * Answers "may this user do this here?" from memory. Effective permissions are
 * loaded once per user and dropped on every node when an admin change is
 * published, so a revoke applies to the very next frame.
 */
@Injectable()
export class AuthorizationService implements OnApplicationBootstrap {
  private readonly logger = new Logger('RealtimeAuthorization');
  private readonly permissionsByUser = new Map<string, CachedPermissions>();
  private readonly rolesByTenant = new Map<string, Promise<Map<string, string[]>>>();
  private readonly listeners: PermissionsChangedListener[] = [];
  private readonly bootstrapAdmins: ReadonlySet<string>;

  constructor(
    @InjectRepository(RoleEntity, REALTIME_CONNECTION) private readonly roles: Repository<RoleEntity>,
    @InjectRepository(RolePermissionEntity, REALTIME_CONNECTION) private readonly rolePermissions: Repository<RolePermissionEntity>,
    @InjectRepository(RoleAssignmentEntity, REALTIME_CONNECTION) private readonly assignments: Repository<RoleAssignmentEntity>,
    @Inject(REALTIME_OPTIONS) private readonly options: ResolvedRealtimeOptions,
    private readonly broker: Broker,
  ) {
    this.bootstrapAdmins = new Set(options.authorization.bootstrapAdmins);
    broker.onControl((message) => {
      if (message.type === 'permissions.changed') this.forget(message.tenantId, message.userId);
    });
    // Changes announced while the other nodes were out of reach were missed: start afresh.
    broker.onReconnect(() => {
      this.permissionsByUser.clear();
      this.rolesByTenant.clear();
    });
  }

  /**
   * A default role that names no role (a typo in DEFAULT_ROLE) leaves every
   * user without an assignment with no permissions at all, which looks like
   * a fault in each client: said once, at start. Not an error: an admin may
   * create the role later.
   */
  async onApplicationBootstrap(): Promise<void> {
    const name = this.options.authorization.defaultRole;
    try {
      if (await this.roles.exists({ where: { name } })) return;
    } catch {
      // The database is not reachable yet: the health check says so.
      return;
    }
    this.logger.warn(`the default role "${name}" is defined in no tenant: users without a role of their own have no permissions until it is created`);
  }

  isBootstrapAdmin(userId: string): boolean {
    return this.bootstrapAdmins.has(userId);
  }

  async can(user: AuthenticatedUser, permission: string, room?: string): Promise<boolean> {
    return (await this.permissionsOf(user)).can(permission, room);
  }

  /**
   * Throws FORBIDDEN unless the user holds one of `permissions` (in `room`,
   * when given). At once, without a promise, when the user's permissions are
   * cached: the guard asks for every frame.
   */
  assertAny(user: AuthenticatedUser, permissions: readonly string[], room?: string): void | Promise<void> {
    const effective = this.permissionsOf(user);
    if (effective instanceof Promise) return effective.then((loaded) => assertHolds(loaded, permissions, room));
    assertHolds(effective, permissions, room);
  }

  private permissionsOf(user: AuthenticatedUser): EffectivePermissions | Promise<EffectivePermissions> {
    const key = userKey(user.tenantId, user.id);
    const cached = this.permissionsByUser.get(key);
    if (cached) {
      cached.recentlyUsed = true;
      return cached.permissions;
    }
    if (this.permissionsByUser.size >= this.options.authorization.permissionCacheSize) this.evictOne();
    const loading = this.load(user.tenantId, user.id);
    const entry: CachedPermissions = { permissions: loading, recentlyUsed: false };
    this.permissionsByUser.set(key, entry);
    loading.then(
      (permissions) => {
        entry.permissions = permissions;
      },
      () => {
        if (this.permissionsByUser.get(key) === entry) this.permissionsByUser.delete(key);
      },
    );
    return loading;
  }

  /**
   * Second chance: the oldest entry not used since the last eviction passed
   * it goes; a used one is moved to the back. Close to least recently used,
   * without reordering the map on every frame (each reorder left a dead copy
   * of its table for the young-generation collector to keep).
   */
  private evictOne(): void {
    for (const [key, entry] of this.permissionsByUser) {
      this.permissionsByUser.delete(key);
      if (!entry.recentlyUsed) return;
      entry.recentlyUsed = false;
      this.permissionsByUser.set(key, entry);
    }
  }

  /** Visible role definitions of a tenant: its own, else the shared ones. */
  rolesOf(tenantId: string): Promise<Map<string, string[]>> {
    const cached = this.rolesByTenant.get(tenantId);
    if (cached) return cached;
    const loading = this.loadRoles(tenantId);
    this.rolesByTenant.set(tenantId, loading);
    loading.catch(() => {
      if (this.rolesByTenant.get(tenantId) === loading) this.rolesByTenant.delete(tenantId);
    });
    return loading;
  }

  /** Tells every node that permissions changed; resolves once this node applied it. */
  announceChange(tenantId: string, userId?: string): Promise<void> {
    return this.broker.publishControl({ type: 'permissions.changed', tenantId, userId });
  }

  onPermissionsChanged(listener: PermissionsChangedListener): void {
    this.listeners.push(listener);
  }

  private forget(tenantId: string, userId: string | undefined): void {
    if (userId !== undefined) {
      this.permissionsByUser.delete(userKey(tenantId, userId));
    } else {
      this.rolesByTenant.delete(tenantId);
      const prefix = tenantKeyPrefix(tenantId);
      for (const key of this.permissionsByUser.keys()) {
        if (key.startsWith(prefix)) this.permissionsByUser.delete(key);
      }
    }
    for (const listener of this.listeners) listener(tenantId, userId);
  }

  private async load(tenantId: string, userId: string): Promise<EffectivePermissions> {
    const [assignments, rolePermissions] = await Promise.all([
      withStorage(this.logger, () => this.assignments.find({ where: { tenantId, userId }, select: { roleName: true, scope: true } })),
      this.rolesOf(tenantId),
    ]);
    return resolvePermissions({
      assignments,
      rolePermissions,
      defaultRole: this.options.authorization.defaultRole,
      isBootstrapAdmin: this.bootstrapAdmins.has(userId),
    });
  }

  private async loadRoles(tenantId: string): Promise<Map<string, string[]>> {
    const tenants = [SHARED_ROLE_TENANT, tenantId];
    const [roles, permissions] = await withStorage(this.logger, () =>
      Promise.all([
        this.roles.find({ where: { tenantId: In(tenants) }, select: { tenantId: true, name: true } }),
        this.rolePermissions.find({ where: { tenantId: In(tenants) } }),
      ]),
    );
    const owner = new Map<string, string>();
    for (const role of roles) {
      if (!owner.has(role.name) || role.tenantId !== SHARED_ROLE_TENANT) owner.set(role.name, role.tenantId);
    }
    const result = new Map<string, string[]>([...owner.keys()].map((name) => [name, []]));
    for (const row of permissions) {
      if (owner.get(row.roleName) === row.tenantId) result.get(row.roleName)!.push(row.permission);
    }
    return result;
  }
}

/** A user's permissions in the cache: loading, then the answer itself (a settled promise per user cost 48 bytes per socket). */
interface CachedPermissions {
  permissions: EffectivePermissions | Promise<EffectivePermissions>;
  /** Used since the last eviction passed this entry. */
  recentlyUsed: boolean;
}

function assertHolds(effective: EffectivePermissions, permissions: readonly string[], room: string | undefined): void {
  if (permissions.some((permission) => effective.can(permission, room))) return;
  const what = permissions.join(' or ');
  throw RealtimeError.forbidden(room === undefined ? `permission ${what} is required` : `permission ${what} is required in room ${room}`);
}
