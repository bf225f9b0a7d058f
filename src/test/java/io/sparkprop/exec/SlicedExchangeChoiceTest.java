package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bytes model behind {@code spark.sparkprop.exchange=auto} ({@link SlicedExchange#choose}). */
class SlicedExchangeChoiceTest {
    @Test
    void theSlicesWinOnTheBusiestLinkFromAFewShardsOn() {
        // Adam (2 state arrays): 4 shards tie (5 against 5), 5 shards carry 4.8 against 6
        assertEquals(5.0, SlicedExchange.busiestSlicedLink(4, 2), 1e-12);
        assertFalse(SlicedExchange.busiestSlicedLink(4, 2) < 4 + 1);
        assertEquals(4.8, SlicedExchange.busiestSlicedLink(5, 2), 1e-12);
        assertTrue(SlicedExchange.busiestSlicedLink(5, 2) < 5 + 1);
        // plain SGD keeps only θ in its slices: 4 shards already
        assertEquals(4.0, SlicedExchange.busiestSlicedLink(4, 0), 1e-12);
        // many shards: about 4 whatever n, against n + 1
        assertEquals(4.0 + 4.0 / 512, SlicedExchange.busiestSlicedLink(512, 2), 1e-12);
        // one shard: the model's floor (the driver's link carries θ in and the broadcast out)
        assertEquals(2 + 2 * 3.0, SlicedExchange.busiestSlicedLink(1, 2), 1e-12);
    }
}
