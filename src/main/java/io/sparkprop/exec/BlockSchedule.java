package io.sparkprop.exec;

import java.util.SplittableRandom;

/**
 * Which blocks of a partition an iteration reads. An epoch is {@code T} iterations; each partition
 * {@code p} with {@code K_p} blocks visits them in a shuffled order {@code π_{e,p}} derived from
 * (seed, epoch, partition) only, and iteration {@code t ∈ [0, T)} of the epoch takes the positions
 * {@code [⌊t K_p / T⌋, ⌊(t+1) K_p / T⌋)} of that order. So every block is read exactly once per
 * epoch, a partition's blocks are spread evenly over the epoch's iterations, and the choice never
 * depends on timing, task attempts or other partitions. Full batch is {@code T = 1}.
 */
final class BlockSchedule {
    private BlockSchedule() {
    }

    /** First position (inclusive) of iteration {@code t}'s slice of a partition with {@code blocks} blocks. */
    public static int sliceStart(int blocks, int t, int iterationsPerEpoch) {
        return (int) ((long) t * blocks / iterationsPerEpoch);
    }

    /** Last position (exclusive) of iteration {@code t}'s slice. */
    public static int sliceEnd(int blocks, int t, int iterationsPerEpoch) {
        return (int) ((long) (t + 1) * blocks / iterationsPerEpoch);
    }

    /**
     * The visiting order of a partition's blocks in an epoch: a Fisher–Yates shuffle seeded from
     * (seed, epoch, partition); the identity when {@code shuffle} is false.
     *
     * @param order array of at least {@code blocks} entries to fill (modified); returned
     */
    public static int[] order(long seed, int epoch, int partition, int blocks, boolean shuffle, int[] order) {
        for (int i = 0; i < blocks; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom random = new SplittableRandom(mix(seed, epoch, partition));
            for (int i = blocks - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
        }
        return order;
    }

    /** A 64-bit seed from the three ids (multiply-xorshift steps, so nearby ids give unrelated seeds). */
    static long mix(long seed, int epoch, int partition) {
        long h = seed;
        h = (h ^ (h >>> 33)) * 0xff51afd7ed558ccdL + epoch;
        h = (h ^ (h >>> 33)) * 0xc4ceb9fe1a85ec53L + partition;
        return h ^ (h >>> 33);
    }
}
