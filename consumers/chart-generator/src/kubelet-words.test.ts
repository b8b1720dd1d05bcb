import { describe, expect, it } from 'vitest';
import { kubeletLiteral } from './kubelet-words.js';

describe('kubeletLiteral', () => {
  it('doubles every `$`, so the kubelet neither expands $(NAME) nor turns $$ into $', () => {
    expect(kubeletLiteral('echo $$ $(date) $HOME')).toBe('echo $$$$ $$(date) $$HOME');
    expect(kubeletLiteral('no dollars')).toBe('no dollars');
  });
});
