/**
 * Readings of the machine pitwall runs on: memory (for the degradation mode's free-memory trigger,
 * memory checks and the built-in `memory > 80 %` threshold) and disk usage. Injectable, so tests
 * decide what the host looks like.
 */
import { readFile, statfs } from "node:fs/promises";
import { freemem, totalmem } from "node:os";

export interface MemoryReading {
  total_bytes: number;
  /** What can be given to programs without swapping (Linux MemAvailable), else the OS's free memory. */
  available_bytes: number;
  /** This process's resident set. */
  process_rss_bytes: number;
}

export interface DiskReading {
  /** Used / (used + available to unprivileged users): what `df` shows as Use%. */
  ratio: number;
  used_bytes: number;
  total_bytes: number;
}

export interface HostReader {
  memory(): Promise<MemoryReading>;
  disk(path: string): Promise<DiskReading>;
}

/** MemAvailable from /proc/meminfo: os.freemem() leaves out reclaimable page cache. */
async function availableMemory(): Promise<number> {
  try {
    const text = await readFile("/proc/meminfo", "utf8");
    const match = /^MemAvailable:\s+(\d+)\s+kB/m.exec(text);
    if (match) return Number(match[1]) * 1024;
  } catch {
    // Not Linux: fall back to what the OS calls free.
  }
  return freemem();
}

export const systemHost: HostReader = {
  async memory() {
    return {
      total_bytes: totalmem(),
      available_bytes: await availableMemory(),
      process_rss_bytes: process.memoryUsage.rss(),
    };
  },
  async disk(path) {
    const stats = await statfs(path);
    const used = (stats.blocks - stats.bfree) * stats.bsize;
    const available = stats.bavail * stats.bsize;
    return {
      ratio: used + available > 0 ? used / (used + available) : 0,
      used_bytes: used,
      total_bytes: stats.blocks * stats.bsize,
    };
  },
};
