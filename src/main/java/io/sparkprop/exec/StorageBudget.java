package io.sparkprop.exec;

import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.memory.MemoryManager;

/**
 * How much of an executor's memory the packed blocks may take: the executor's Spark storage memory less what
 * Spark's cache already holds (other shards, the user's cached data) and what the partitions being packed at
 * this moment have claimed, times {@link #USABLE} (the room Spark needs to cache a shard); and, when
 * {@value PackedData#STORAGE_MEMORY_KEY} is set (as a local property of the job that packs, else in the Spark
 * configuration), at most that many bytes for one packed data set on one executor. A block that does not fit
 * goes to disk. The plan never changes a result: where a block lives is not part of the bits.
 *
 * <p>Claims on the storage memory last while a partition is packed; then Spark caches the shard and counts its
 * memory as storage. Claims on the setting last as long as the executor: a partition re-packed after its cached
 * shard was lost counts twice, and puts more of its blocks on disk.
 */
final class StorageBudget {
    /**
     * Of the free storage memory, the fraction blocks may claim. Spark caches a shard by unrolling it, and
     * asks for 1.5 times the size it has seen ({@code MemoryStore}'s memory growth factor) before it keeps the
     * size itself: a shard of {@code S} needs {@code 1.5 S} free when it is cached. Claims of at most
     * {@code 0.6} of the free memory leave that room even when one shard holds all of them ({@code 0.9}),
     * where a shard that cannot be cached would be written to disk whole, read back whole by every task and
     * offered to the memory again on every read ({@code MEMORY_AND_DISK}).
     */
    static final double USABLE = 0.6;
    private static long inFlight;
    /** Bytes claimed on this executor per packed data set (its reserved RDD id), against the setting. */
    private static final java.util.Map<Integer, Long> CLAIMED = new java.util.HashMap<>();

    private StorageBudget() {
    }

    /** The claims of one partition being packed for the data set whose blocks are under {@code rddId}. */
    static Claims claims(int rddId) {
        return new Claims(rddId, setting());
    }

    /** {@value PackedData#STORAGE_MEMORY_KEY} in bytes, or −1 when not set (or outside Spark). */
    private static long setting() {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            return -1;
        }
        TaskContext task = TaskContext.get();
        String set = task == null ? null : task.getLocalProperty(PackedData.STORAGE_MEMORY_KEY);
        org.apache.spark.SparkConf conf = env.conf();
        if (set == null && conf.contains(PackedData.STORAGE_MEMORY_KEY)) {
            set = conf.get(PackedData.STORAGE_MEMORY_KEY);
        }
        if (set == null) {
            return -1;
        }
        long bytes;
        try {
            bytes = JavaUtils.byteStringAsBytes(set.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(PackedData.STORAGE_MEMORY_KEY + " must be a size in bytes such as 0, "
                    + "64k or 512m, found '" + set + "'", e);
        }
        if (bytes < 0) {
            throw new IllegalArgumentException(PackedData.STORAGE_MEMORY_KEY + " must be >= 0, found '" + set + "'");
        }
        return bytes;
    }

    private static synchronized boolean claim(int rddId, long limit, long bytes) {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            return true;
        }
        MemoryManager memory = env.memoryManager();
        long free = (long) (USABLE * (memory.maxOnHeapStorageMemory() - memory.storageMemoryUsed())) - inFlight;
        long claimed = CLAIMED.getOrDefault(rddId, 0L);
        if (bytes > free || (limit >= 0 && claimed + bytes > limit)) {
            return false;
        }
        inFlight += bytes;
        CLAIMED.put(rddId, claimed + bytes);
        return true;
    }

    private static synchronized void release(long bytes) {
        inFlight -= bytes;
    }

    /** What one partition has claimed while it is packed. Not thread-safe. */
    static final class Claims {
        private final int rddId;
        private final long limit;
        private long held;
        private boolean full;

        private Claims(int rddId, long limit) {
            this.rddId = rddId;
            this.limit = limit;
        }

        /**
         * Claims {@code bytes} for a block kept in memory; false (and false for every later block, so that a
         * shard's blocks in memory are a prefix of its canonical order) when they do not fit.
         */
        boolean claim(long bytes) {
            if (full || !StorageBudget.claim(rddId, limit, bytes)) {
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
