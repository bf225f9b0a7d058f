package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

class BlockScheduleTest {

    @Test
    void everyBlockIsReadExactlyOncePerEpoch() {
        for (int blocks : new int[] {0, 1, 7, 10, 23}) {
            for (int iterations : new int[] {1, 3, 10, 23}) {
                int[] order = BlockSchedule.order(5, 2, 1, blocks, true, new int[blocks]);
                int[] reads = new int[blocks];
                int previousEnd = 0;
                for (int t = 0; t < iterations; t++) {
                    int start = BlockSchedule.sliceStart(blocks, t, iterations);
                    int end = BlockSchedule.sliceEnd(blocks, t, iterations);
                    assertEquals(previousEnd, start, "slices are contiguous");
                    assertTrue(end - start <= (blocks + iterations - 1) / iterations, "slices are even");
                    for (int p = start; p < end; p++) {
                        reads[order[p]]++;
                    }
                    previousEnd = end;
                }
                assertEquals(blocks, previousEnd);
                for (int r : reads) {
                    assertEquals(1, r);
                }
            }
        }
    }

    @Test
    void orderDependsOnSeedEpochAndPartitionOnly() {
        int[] a = BlockSchedule.order(1, 0, 0, 50, true, new int[50]);
        assertArrayEquals(a, BlockSchedule.order(1, 0, 0, 50, true, new int[50]), "reproducible");
        assertArrayEquals(a, Arrays.copyOf(BlockSchedule.order(1, 0, 0, 50, true, new int[60]), 50),
                "a longer buffer gets the same order in its first entries");
        assertFalse(Arrays.equals(a, BlockSchedule.order(2, 0, 0, 50, true, new int[50])));
        assertFalse(Arrays.equals(a, BlockSchedule.order(1, 1, 0, 50, true, new int[50])));
        assertFalse(Arrays.equals(a, BlockSchedule.order(1, 0, 1, 50, true, new int[50])));
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        int[] identity = BlockSchedule.order(1, 0, 0, 50, false, new int[50]);
        assertArrayEquals(identity, sorted, "a permutation");
        assertFalse(Arrays.equals(identity, a), "shuffled");
    }
}
