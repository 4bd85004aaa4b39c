// Type declarations for jsrt-script strategies: the "jsrt" module and the
// globals it also provides. Written out by `jsrt-script types [DIR]` and
// `jsrt-script init`; reference it from a strategy so editors complete and
// check it:
//
//   // @ts-check
//   /// <reference path="./jsrt.d.ts" />
//   const { task, run } = require("jsrt");
//
// In TypeScript: `import { task, run } from "jsrt";` after the same
// reference line. Durations in results are milliseconds (float).

declare module "jsrt" {
  /** A duration: milliseconds, or a string such as "90s", "5m", "1h30m". */
  export type Duration = number | string;

  /** What became of a task in a run. */
  export type TaskStatus = "ok" | "cached" | "failed" | "skipped" | "interrupted" | "pending" | "running";

  /** Options of task(name, options); only cmd is required. */
  export interface TaskOptions {
    /** A string run by `/bin/sh -c`, or an argument vector run without a shell.
     * `{changed}` expands to the inputs changed since the last success, `{inputs}` to all of them. */
    cmd: string | string[];
    /** Tasks that must succeed first. */
    deps?: string[];
    /** Globs of the files the task reads, relative to the workspace root (`**` allowed). */
    inputs?: string[];
    /** Globs of the files it writes; restored on a cache hit. */
    outputs?: string[];
    /** Names of environment variables whose values belong to the task's cache key. */
    env?: string[];
    /** Working directory, relative to the workspace root (must stay inside it). */
    cwd?: string;
    /** The whole process group is stopped (SIGTERM, then SIGKILL) after this long. */
    timeout?: Duration;
    /** Extra attempts after a failure, with exponential backoff and jitter. */
    retries?: number;
    /** A pool defined with pool(name, {slots}), or several: the select policy picks one with a free slot. */
    pool?: string | string[];
    tags?: string[];
    /** Ready tasks with the same batch key (and the same cmd, cwd, env, pool, timeout) may run as one process over all their inputs. */
    batch?: string;
    /** A whole number; higher starts first, before any critical-path weight. */
    priority?: number;
    /** Start it before everything else that is ready. */
    critical?: boolean;
    /** false keeps the task out of the result cache. */
    cache?: boolean;
    /** Extra text in the cache key, or a function returning it, called before every run. */
    cacheKey?: string | ((task: string) => string);
    /** How long a cached result stays valid. */
    ttl?: Duration;
    description?: string;
  }

  /** Options of pool(name, options). */
  export interface PoolOptions {
    /** How many of its tasks may run at once (at least 1). */
    slots: number;
  }

  /** Options of run(targets, options). */
  export interface RunOptions {
    /** Parallelism for this run (default: the command line's -j). */
    jobs?: number;
    /** Keep running everything that does not depend on a failure. */
    continue?: boolean;
    /** Plan only: nothing runs and nothing is written. */
    dryRun?: boolean;
  }

  /** One task in a run's summary. */
  export interface TaskSummary {
    status: TaskStatus;
    /** -1 when it never started. */
    exitCode: number;
    signal?: string;
    durationMs: number;
    attempts: number;
    /** Why it failed or was skipped. */
    reason?: string;
  }

  /** What run() resolves to. */
  export interface RunSummary {
    ok: boolean;
    runId?: string;
    /** 0 ok, 1 a task failed, 130 interrupted. */
    exitCode: number;
    interrupted: boolean;
    dryRun?: boolean;
    wallMs: number;
    jobs: number;
    /** Σ of the task times. */
    sumMs: number;
    /** Σ task times ÷ (wall time × jobs). */
    efficiency: number;
    /** Σ task times ÷ wall time. */
    speedup: number;
    /** Task time that cache hits saved. */
    savedMs?: number;
    /** What speculation did: tasks run ahead in this run, and hits on results run ahead earlier. */
    ahead: { started: number; stored: number; stopped: number; hits: number };
    /** The run's metrics (not for dry runs). */
    metrics?: Metrics;
    counts: Partial<Record<TaskStatus, number>>;
    /** The tasks of the run in topological order. */
    order: string[];
    tasks: Record<string, TaskSummary>;
  }

  /** What history predicts of a task's next execution (history.predict). */
  export interface Prediction {
    task: string;
    meanMs: number;
    /** Exponentially weighted mean, the figure the scheduler uses. */
    ewmaMs: number;
    stdDevMs: number;
    p50Ms: number;
    p90Ms: number;
    /** Successful real executions used (at most the newest 50). */
    samples: number;
    /** Failed attempts ÷ real attempts, 0 to 1. */
    failureRate: number;
    /** Runs where it failed and then passed on a retry. */
    flaky: number;
    /** Bytes. */
    peakRss: number;
    /** "high" with more than 10 samples. */
    confidence: "high" | "low" | "none";
  }

  /** A task as the scheduler's hooks see it. */
  export interface TaskInfo {
    name: string;
    tags: string[];
    /** The task's own priority option; a priority hook may change it. */
    priority: number;
    critical: boolean;
    /** Tasks of this run waiting for it, directly or not. */
    blocking: number;
    /** How long it has been ready. */
    waitMs: number;
    /** Critical-path weight: predicted ms from its start to the end of the run. */
    weight: number;
    predictedMs: number;
    confidence: string;
    failureRate: number;
    /** The attempt about to start or just finished. */
    attempt: number;
    retries: number;
    pool?: string;
  }

  /** Context of a priority hook call. */
  export interface PriorityContext {
    failFast: boolean;
  }

  /** A pool a task may run in, as the select hook sees it. */
  export interface Candidate {
    name: string;
    slots: number;
    free: number;
    /** Relative speed, 1 by default. */
    performance: number;
    /** free ÷ slots. */
    availability: number;
    /** (running + 1) ÷ slots: what it would be with this task. */
    load: number;
  }

  /** The attempt a retry hook decides about. */
  export interface AttemptResult {
    exitCode: number;
    signal: string;
    timedOut: boolean;
    durationMs: number;
    /** A start failure (missing command, ...); "" otherwise. */
    error: string;
  }

  /** What a retry hook returns: retry or not, a delay in ms (retry after it), or both. */
  export type RetryDecision = boolean | number | { retry: boolean; delayMs?: number };

  export interface SchedulerHooks {
    /** A number (higher starts first), or nothing after changing task.priority. */
    priority: (task: TaskInfo, ctx: PriorityContext) => number | void | Promise<number | void>;
    /** The name of the pool to run in. */
    select: (task: TaskInfo, candidates: Candidate[]) => string | Promise<string>;
    retry: (task: TaskInfo, attempt: number, result: AttemptResult) => RetryDecision | Promise<RetryDecision>;
    /** Group ready tasks sharing a batch key (in priority order) into batches of task names; the first starts now. */
    batch: (tasks: TaskInfo[]) => string[][] | Promise<string[][]>;
  }

  export interface Scheduler {
    /** Replace a default policy. Hooks run on the script's loop within a time budget (--policy-timeout). */
    on<K extends keyof SchedulerHooks>(hook: K, fn: SchedulerHooks[K]): void;
  }

  /** A sample of the machine, as the parallelism hook sees it. */
  export interface ResourceSample {
    /** Unix ms. */
    time: number;
    /** Percent, 0-100. */
    cpu: number;
    memory: number;
    /** Bytes. */
    memAvailable: number;
    load1: number;
    disk: number;
    /** Logical CPUs; 0 when unknown. */
    cpus: number;
    /** Threads runnable machine-wide at the sample (procs_running), the sampling one included; 0 when unknown. */
    runnable: number;
    /** How many of those are jsrt-script's own threads, the sampling one included; 0 when unknown. */
    selfRunnable: number;
  }

  /** The run's state, as the parallelism hook sees it. */
  export interface ParallelismState {
    jobs: number;
    minJobs: number;
    maxJobs: number;
    running: number;
    waiting: number;
    finished: number;
    failed: number;
    speculation: boolean;
    sinceChangeMs: number;
  }

  /** An unchanged jobs with reason "" means no change. */
  export interface ParallelismVerdict {
    jobs: number;
    reason: string;
  }

  export interface OptimizerHooks {
    parallelism: (metrics: ResourceSample, state: ParallelismState) => ParallelismVerdict;
  }

  export interface Optimizer {
    /** Replace the parallelism rule (see require("jsrt/policies/parallelism")). */
    on<K extends keyof OptimizerHooks>(hook: K, fn: OptimizerHooks[K]): void;
  }

  /** Live figures of a run. */
  export interface Metrics {
    completed: number;
    running: number;
    waiting: number;
    avgDurationMs: number;
    /** Tasks completed per second. */
    throughput: number;
    efficiency: number;
    utilisation: number;
    speedup: number;
    cacheHitRate: number;
    taskTimeMs: number;
    slotTimeMs: number;
  }

  /** A duration off its prediction by more than half. */
  export interface Anomaly {
    task: string;
    durationMs: number;
    expectedMs: number;
    deviation: number;
    samples: number;
  }

  export interface Bottleneck {
    task: string;
    durationMs: number;
    pathShare: number;
    onCriticalPath: boolean;
    blocked: number;
    waitedMs: number;
  }

  export interface CriticalPath {
    tasks: string[];
    durationMs: number;
    share: number;
  }

  export interface Flaky {
    task: string;
    flaky: number;
    runs: number;
  }

  /** The report of a finished run. */
  export interface Report {
    runId: string;
    start: string;
    wallMs: number;
    jobs: number;
    tasks: number;
    counts: Partial<Record<TaskStatus, number>>;
    metrics: Metrics;
    criticalPath: CriticalPath;
    bottlenecks: Bottleneck[];
    anomalies: Anomaly[];
    flaky: Flaky[];
    parallelismChanges: number;
    recommendations: string[];
    /** Predicted wall time of the next run. */
    nextRunMs: number;
  }

  export interface MonitorEvents {
    /** An attempt started. */
    taskStart: (event: { task: string; attempt: number }) => void;
    /** An attempt ended. */
    taskEnd: (event: {
      task: string;
      attempt: number;
      outcome: "ok" | "failed" | "timeout" | "interrupted" | "cached" | "error";
      exitCode: number;
      durationMs: number;
      cached: boolean;
      retrying: boolean;
    }) => void;
    /** Every machine sample during a run, with the number of slots in use. */
    sample: (sample: ResourceSample & { jobs: number }) => void;
    /** A task more than 50 % (and 50 ms) away from a high-confidence prediction. */
    anomaly: (anomaly: Anomaly) => void;
  }

  export interface Monitor {
    /** The figures of the run going on, or of the last one; null before any run. */
    metrics(): Metrics | null;
    /** Listeners are called on the script's loop while a run goes on. */
    on<K extends keyof MonitorEvents>(event: K, fn: MonitorEvents[K]): void;
  }

  /** Define a task; returns its name. */
  export function task(name: string, options: TaskOptions): string;
  /** Define an executor pool; returns its name. */
  export function pool(name: string, options: PoolOptions): string;
  /** Set the workspace root, relative to the strategy's directory; returns it (absolute). Without an argument, returns it. */
  export function root(dir?: string): string;
  /** Files under the root that match pattern, sorted, relative to the root. */
  export function glob(pattern: string): string[];
  /** Run targets (default: every task) with everything they need. */
  export function run(targets?: string | string[], options?: RunOptions): Promise<RunSummary>;
  /** The targets given on the command line. */
  export const args: string[];
  export const scheduler: Scheduler;
  export const optimizer: Optimizer;
  export const monitor: Monitor;
  export const history: {
    predict(name: string): Prediction;
  };
  export const cache: {
    /** Drop the cached results of these tasks and of everything depending on them; returns the tasks affected. */
    invalidate(...names: string[]): string[];
    /** Bound the cache after each run (bytes, or a size such as "1GiB"); --cache-max wins. */
    maxSize(size: number | string): void;
  };
}

declare module "jsrt/policies/priority" {
  import type { SchedulerHooks } from "jsrt";
  const priority: (task: import("jsrt").TaskInfo, ctx: import("jsrt").PriorityContext) => number;
  export = priority;
}

declare module "jsrt/policies/select" {
  import type { SchedulerHooks } from "jsrt";
  const select: SchedulerHooks["select"];
  export = select;
}

declare module "jsrt/policies/retry" {
  import type { SchedulerHooks } from "jsrt";
  const retry: SchedulerHooks["retry"];
  export = retry;
}

declare module "jsrt/policies/batch" {
  const batch: (tasks: import("jsrt").TaskInfo[]) => string[][];
  export = batch;
}

declare module "jsrt/policies/parallelism" {
  import type { OptimizerHooks } from "jsrt";
  const parallelism: OptimizerHooks["parallelism"] & {
    thresholds: Record<string, number>;
  };
  export = parallelism;
}

// The same names are globals. The declarations below merge with those of
// lib.dom and @types/node when a project has them (same interface names).
declare var task: typeof import("jsrt").task;
declare var pool: typeof import("jsrt").pool;
declare var root: typeof import("jsrt").root;
declare var glob: typeof import("jsrt").glob;
declare var run: typeof import("jsrt").run;
declare var scheduler: typeof import("jsrt").scheduler;
declare var optimizer: typeof import("jsrt").optimizer;
declare var monitor: typeof import("jsrt").monitor;
declare var cache: typeof import("jsrt").cache;
declare var args: typeof import("jsrt").args;
interface History {
  /** What history predicts of a task. */
  predict(name: string): import("jsrt").Prediction;
}
declare var history: History;

// CommonJS as strategies use it.
interface NodeRequire {
  (id: "jsrt"): typeof import("jsrt");
  (id: "jsrt/policies/parallelism"): typeof import("jsrt/policies/parallelism");
  (id: "jsrt/policies/priority"): typeof import("jsrt/policies/priority");
  (id: "jsrt/policies/select"): typeof import("jsrt/policies/select");
  (id: "jsrt/policies/retry"): typeof import("jsrt/policies/retry");
  (id: "jsrt/policies/batch"): typeof import("jsrt/policies/batch");
  (id: string): any;
}
declare var require: NodeRequire;
interface NodeModule {
  exports: any;
}
declare var module: NodeModule;
declare var exports: any;
declare var __filename: string;
declare var __dirname: string;

interface Console {
  log(...data: any[]): void;
  info(...data: any[]): void;
  debug(...data: any[]): void;
  warn(...data: any[]): void;
  error(...data: any[]): void;
}
declare var console: Console;
declare function setTimeout(handler: (...args: any[]) => void, timeout?: number, ...args: any[]): any;
declare function clearTimeout(id: any): void;
