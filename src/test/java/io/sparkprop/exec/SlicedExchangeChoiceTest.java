package io.sparkprop.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bytes model behind {@code spark.sparkprop.exchange=auto} ({@link SlicedExchange#choose}). */
class SlicedExchangeChoiceTest {
    @Test
    void theSlicesWinOnTheBusiestLinkFromAFewShardsOn() {
        // Adam (2 state arrays): 3 shards carry 5 against 4, 4 shards 4.75 against 5
        assertEquals(5.0, SlicedExchange.busiestSlicedLink(3, 2), 1e-12);
        assertFalse(SlicedExchange.busiestSlicedLink(3, 2) < 3 + 1);
        assertEquals(4.75, SlicedExchange.busiestSlicedLink(4, 2), 1e-12);
        assertTrue(SlicedExchange.busiestSlicedLink(4, 2) < 4 + 1);
        // plain SGD keeps only θ in its slices: 3 shards already (4 against 4 is no gain)
        assertEquals(11.0 / 3, SlicedExchange.busiestSlicedLink(3, 0), 1e-12);
        // many shards: about 4 whatever n, against n + 1
        assertEquals(4.0 + 3.0 / 512, SlicedExchange.busiestSlicedLink(512, 2), 1e-12);
        // one shard: its slice of θ and state replicated, and θ to the driver
        assertEquals(7.0, SlicedExchange.busiestSlicedLink(1, 2), 1e-12);
    }
}
