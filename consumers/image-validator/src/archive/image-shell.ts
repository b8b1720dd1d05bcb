import { z } from 'zod';
import { chartTextProblem, NUL_PROBLEM } from '@orbit/lib';

/** More words than any real shell takes (`["/bin/bash", "-o", "pipefail", "-c"]` is four); the config's size bounds the rest. */
export const MAX_SHELL_WORDS = 64;

/** Config.Shell as Docker's JSON decoding takes it: a list of strings (docker load refuses anything else). */
export const shellTypeShape = z.array(z.string()).nullable().optional();

/**
 * Config.Shell (Dockerfile SHELL) as a CMD-SHELL healthcheck runs it: the program first. The chart's exec probes run
 * it, so its words are held to the healthcheck's own rules (no NUL, text helm can carry); without such a healthcheck
 * nothing Orbit makes runs it (Docker uses it for RUN at build time only), and its words are not judged.
 */
export const shellShape = z.array(z.string().superRefine((word, context) => {
  const problem = word.includes('\0') ? NUL_PROBLEM : chartTextProblem(word);
  if (problem !== null) context.addIssue({ code: 'custom', message: problem });
})).max(MAX_SHELL_WORDS, `lists more than ${MAX_SHELL_WORDS} words`)
  .refine((words) => words.length === 0 || words[0] !== '', 'names no program: its first word is empty, which no runtime can run')
  .nullable().optional();
