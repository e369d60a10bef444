/**
 * s3rver (an S3-compatible server from npm) in a child process, for tests and the
 * benchmark: a RangeSource reader blocks its own thread, so the store must not share it.
 * Accounts: the s3rver default (access key S3RVER, secret S3RVER). Note that s3rver checks
 * the access key of a SigV4 request but not its signature (its source says so); the
 * signature itself is checked against AWS's published example in s3.test.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export class S3Process {
  endpoint = '';
  private constructor(private readonly child: ChildProcess) {}

  /** Starts s3rver on a loopback port with `buckets` created, data in `directory`. */
  static async start(directory: string, buckets: string[]): Promise<S3Process> {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, S3_SERVER_CHILD: JSON.stringify({ directory, buckets }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const p = new S3Process(child);
    p.endpoint = await new Promise<string>((resolve, reject) => {
      child.once('message', (m: any) => resolve(m.endpoint));
      child.once('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
    });
    return p;
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill();
    await exited;
  }
}

async function childMain(cfg: { directory: string; buckets: string[] }): Promise<void> {
  // @ts-expect-error s3rver ships no types
  const { default: S3rver } = await import('s3rver');
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: cfg.directory, configureBuckets: cfg.buckets.map((name) => ({ name })) });
  const { port } = await s3.run();
  process.send!({ endpoint: `http://127.0.0.1:${port}` });
  process.on('disconnect', () => process.exit(0));
}

if (process.env.S3_SERVER_CHILD) void childMain(JSON.parse(process.env.S3_SERVER_CHILD));
