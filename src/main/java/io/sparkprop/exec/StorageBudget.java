package io.sparkprop.exec;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.memory.MemoryManager;

/**
 * How much of an executor's memory the packed blocks may take: the executor's Spark storage memory (or
 * {@value PackedData#STORAGE_MEMORY_KEY}, when set lower: as a local property of the job that packs, else in the
 * Spark configuration), less what Spark's cache already holds (other
 * shards, the user's cached data) and what the partitions being packed at this moment have claimed, with a tenth
 * kept free for Spark's own accounting of the cached shard. A block that does not fit goes to disk. The plan
 * never changes a result: where a block lives is not part of the bits.
 *
 * <p>Claims last while a partition is packed; then Spark caches the shard and counts its memory as storage.
 */
final class StorageBudget {
    /** Of the free storage memory, the fraction blocks may claim. */
    static final double USABLE = 0.9;
    private static long inFlight;

    private StorageBudget() {
    }

    /** The claims of one partition being packed. */
    static Claims claims() {
        return new Claims();
    }

    /** The configured budget of this executor in bytes, or {@code Long.MAX_VALUE} outside Spark. */
    static long executorBudget() {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            return Long.MAX_VALUE;
        }
        MemoryManager memory = env.memoryManager();
        long total = memory.maxOnHeapStorageMemory();
        TaskContext task = TaskContext.get();
        String set = task == null ? null : task.getLocalProperty(PackedData.STORAGE_MEMORY_KEY);
        SparkConf conf = env.conf();
        if (set == null && conf.contains(PackedData.STORAGE_MEMORY_KEY)) {
            set = conf.get(PackedData.STORAGE_MEMORY_KEY);
        }
        return set == null ? total : Math.min(total, JavaUtils.byteStringAsBytes(set));
    }

    private static synchronized boolean claim(long bytes) {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            return true;
        }
        long total = executorBudget();
        long free = (long) (USABLE * (total - env.memoryManager().storageMemoryUsed())) - inFlight;
        if (bytes > free) {
            return false;
        }
        inFlight += bytes;
        return true;
    }

    private static synchronized void release(long bytes) {
        inFlight -= bytes;
    }

    /** What one partition has claimed while it is packed. Not thread-safe. */
    static final class Claims {
        private long held;
        private boolean full;

        /**
         * Claims {@code bytes} for a block kept in memory; false (and false for every later block, so that a
         * shard's blocks in memory are a prefix of its canonical order) when they do not fit.
         */
        boolean claim(long bytes) {
            if (full || !StorageBudget.claim(bytes)) {
                full = true;
                return false;
            }
            held += bytes;
            return true;
        }

        /** Gives the claims back. */
        void release() {
            StorageBudget.release(held);
            held = 0;
        }
    }
}
