import { stopPostgres } from './postgres-server';

export default async function globalTeardown(): Promise<void> {
  const directory = process.env.TEST_POSTGRES_DIRECTORY;
  const binaries = process.env.TEST_POSTGRES_BINARIES;
  if (directory && binaries) stopPostgres({ directory, binaries });
}
