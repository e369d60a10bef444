// SPDX-License-Identifier: LGPL-3.0-or-later
/**
 * Preloaded into every process of the conformance run. ZenFS's tests use two built-ins
 * newer than Node 20 (Error.isError, Promise.withResolvers); on Node 20 those tests would
 * fail with a TypeError whatever the backend. These stand-ins do what the built-ins do and
 * are installed only where the built-ins are missing.
 */
const E = Error as unknown as { isError?: (v: unknown) => boolean };
E.isError ??= (v: unknown) => v instanceof Error || Object.prototype.toString.call(v) === '[object Error]';

const P = Promise as unknown as { withResolvers?: unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T | PromiseLike<T>) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export {};
