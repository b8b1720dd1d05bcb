import { ConfigError } from '@orbit/lib';

/** The problems a configuration reading refuses with (ConfigError), none when it takes the configuration. */
export function configProblemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
