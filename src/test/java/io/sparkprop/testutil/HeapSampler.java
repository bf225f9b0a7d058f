package io.sparkprop.testutil;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryUsage;

import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

import com.sun.management.GarbageCollectionNotificationInfo;

/**
 * Two high-water marks of the heap: the used heap sampled every 5 ms (live data plus garbage not yet
 * collected, so it mostly reflects the collector's heuristics and {@code -Xmx}), and the heap still
 * in use right after each garbage collection (live data: what the work really needs).
 */
public final class HeapSampler implements AutoCloseable {
    private final MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    private final Thread thread;
    private final NotificationListener gcListener;
    private volatile long peak;
    private volatile long peakAfterGc;
    private volatile long baseline;
    private volatile boolean running = true;

    public HeapSampler() {
        thread = new Thread(() -> {
            while (running) {
                peak = Math.max(peak, memory.getHeapMemoryUsage().getUsed());
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-sampler");
        thread.setDaemon(true);
        thread.start();
        gcListener = (notification, handback) -> {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(notification.getType())) {
                return;
            }
            GarbageCollectionNotificationInfo info =
                    GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            long used = 0;
            for (MemoryUsage u : info.getGcInfo().getMemoryUsageAfterGc().values()) {
                used += u.getUsed();
            }
            // non-heap pools (metaspace, code cache) are in the map too; they are small and steady
            peakAfterGc = Math.max(peakAfterGc, used);
        };
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            ((NotificationEmitter) gc).addNotificationListener(gcListener, null, null);
        }
    }

    /** Collects garbage, then restarts both marks, and the baseline, from the heap in use now. */
    public void reset() {
        System.gc();
        baseline = memory.getHeapMemoryUsage().getUsed();
        peak = baseline;
        peakAfterGc = baseline;
    }

    /** The heap in use right after the last {@link #reset()}'s collection: what was live before the work. */
    public long baseline() {
        return baseline;
    }

    /** The highest sampled used heap since the last {@link #reset()}, in bytes. */
    public long peak() {
        return Math.max(peak, memory.getHeapMemoryUsage().getUsed());
    }

    /** The highest memory in use right after a collection since the last {@link #reset()}, in bytes. */
    public long peakAfterGc() {
        return peakAfterGc;
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            try {
                ((NotificationEmitter) gc).removeNotificationListener(gcListener);
            } catch (javax.management.ListenerNotFoundException e) {
                // already gone
            }
        }
    }
}
