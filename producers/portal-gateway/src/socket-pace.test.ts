import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchSocketPace } from './socket-pace.js';

/** Only what the watch reads of a socket: its byte count and whether it is gone. */
function fakeSocket(): { socket: Socket; receive: (bytes: number) => void } {
  const state = { bytesRead: 0, destroyed: false };
  return { socket: state as unknown as Socket, receive: (bytes) => { state.bytesRead += bytes; } };
}

describe('watchSocketPace', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });
  const base = { minBytesPerSecond: 100, windowMs: 1000, finished: () => false };

  it('spares a body its first window (slow start), then gives up the first window under the floor, once', () => {
    const { socket, receive } = fakeSocket();
    const onTooSlow = vi.fn();
    watchSocketPace({ ...base, socket, judgeFirstWindow: false, onTooSlow });
    receive(10);
    vi.advanceTimersByTime(1000);
    expect(onTooSlow).not.toHaveBeenCalled();
    receive(150);
    vi.advanceTimersByTime(1000);
    expect(onTooSlow).not.toHaveBeenCalled();
    receive(99);
    vi.advanceTimersByTime(3000);
    expect(onTooSlow).toHaveBeenCalledTimes(1);
  });

  it('judges the first window of the rest of a body answered early', () => {
    const { socket, receive } = fakeSocket();
    const onTooSlow = vi.fn();
    watchSocketPace({ ...base, socket, judgeFirstWindow: true, onTooSlow });
    receive(50);
    vi.advanceTimersByTime(1000);
    expect(onTooSlow).toHaveBeenCalledTimes(1);
  });

  it('does not hold a client to a window the gateway held its body back in', () => {
    const { socket } = fakeSocket();
    const onTooSlow = vi.fn();
    let held = true;
    watchSocketPace({ ...base, socket, judgeFirstWindow: true, heldBack: () => held, onTooSlow });
    vi.advanceTimersByTime(3000);
    expect(onTooSlow).not.toHaveBeenCalled();
    held = false;
    vi.advanceTimersByTime(1000);
    expect(onTooSlow).toHaveBeenCalledTimes(1);
  });

  it('stops judging once finished or stopped', () => {
    const { socket } = fakeSocket();
    const onTooSlow = vi.fn();
    let finished = false;
    watchSocketPace({ ...base, socket, judgeFirstWindow: true, finished: () => finished, onTooSlow });
    finished = true;
    vi.advanceTimersByTime(5000);
    const stop = watchSocketPace({ ...base, socket, judgeFirstWindow: true, onTooSlow });
    stop();
    vi.advanceTimersByTime(5000);
    expect(onTooSlow).not.toHaveBeenCalled();
  });
});
