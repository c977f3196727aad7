import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

/**
 * A host compiles against the package's declarations (dist, as `npm pack`
 * ships them): every package they import must come with the package
 * (dependencies, or peers the host installs) and carry types, its own or
 * from an @types package that comes with it too. A type from a dev
 * dependency resolves here and fails in the host (or is `any` there).
 */
const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};
const shipped = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies)]);

function declarations(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return declarations(path);
    return entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function hasOwnTypes(name: string): boolean {
  const root = join('node_modules', name);
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  return Boolean(own.types ?? own.typings) || JSON.stringify(own.exports ?? {}).includes('"types"') || existsSync(join(root, 'index.d.ts'));
}

describe('the declarations a host compiles against', () => {
  const imported = new Map<string, string>();
  for (const file of [...declarations('dist/src'), ...declarations('dist/client')]) {
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'([^'.][^']*)'/g)) {
      if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
      const name = packageOf(specifier);
      if (name !== 'switchboard' && !imported.has(name)) imported.set(name, file);
    }
  }

  it.each([...imported])('import %s, which the host gets with its types (first in %s)', (name) => {
    expect({ name, shipped: shipped.has(name) }).toEqual({ name, shipped: true });
    const typesPackage = `@types/${name.replace(/^@/, '').replace('/', '__')}`;
    expect({ name, typed: hasOwnTypes(name) || shipped.has(typesPackage) }).toEqual({ name, typed: true });
  });
});

describe('the documents of the package', () => {
  it("hold what the README and the docs link to, but for the repository's benchmark", async () => {
    const { execFile } = await import('node:child_process');
    const listing = await new Promise<string>((resolve, reject) =>
      execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    const packed = new Set((JSON.parse(listing) as Array<{ files: Array<{ path: string }> }>)[0].files.map((file) => file.path));
    const linked = ['README.md', ...readdirSync('docs').map((name) => `docs/${name}`)].flatMap((document) =>
      [...readFileSync(document, 'utf8').matchAll(/\]\(([^)#:]+)/g)].map(([, target]) => join(document, '..', target)),
    );
    expect(linked.filter((target) => !target.startsWith('bench/') && !packed.has(target))).toEqual([]);
  });
});
