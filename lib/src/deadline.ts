/**
 * `answer`, unless `ms` pass first: then `onLate` runs (to drop what still
 * waits on it: a connection, a caller's claim) and the promise rejects with
 * `late()`. A later settling of `answer` is ignored, never unhandled.
 */
export function answerWithin<T>(answer: Promise<T>, ms: number, late: () => Error, onLate: () => void = () => undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onLate();
      reject(late());
    }, ms);
    answer.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error: unknown) => { clearTimeout(timer); reject(error); },
    );
  });
}
