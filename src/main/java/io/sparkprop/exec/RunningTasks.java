package io.sparkprop.exec;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.storage.RDDInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tasks still running over an RDD, as the driver hears of them: what {@link PackedData#close} waits for
 * before it removes the packed blocks for good. A job that fails or is cancelled returns to the driver before
 * its other tasks have stopped (Spark kills them afterwards, asynchronously); a packing task that is still
 * running then puts its chunk into the block manager after the blocks were removed, and the file would outlive
 * the fit. Spark posts a task's end only after the task has returned, so once every task of every stage over
 * the RDD has ended, nothing more can be written under its ids.
 *
 * <p>One listener per {@link SparkContext}, on a queue of its own; it keeps a count per stage that reads the
 * RDD, from the stage's submission to its completion with no task left.
 */
final class RunningTasks extends SparkListener {
    private static final Logger LOG = LoggerFactory.getLogger(RunningTasks.class);
    private static final String QUEUE = "sparkprop";
    private static RunningTasks current;

    private final SparkContext sc;
    /** Per stage: the RDDs it computes and its tasks running. */
    private final Map<Integer, Set<Integer>> rdds = new HashMap<>();
    private final Map<Integer, Integer> running = new HashMap<>();
    private final Set<Integer> completed = new HashSet<>();

    private RunningTasks(SparkContext sc) {
        this.sc = sc;
    }

    /** The listener of {@code sc}, added to its listener bus on first use. */
    static synchronized RunningTasks of(SparkContext sc) {
        if (current == null || current.sc != sc) {
            current = new RunningTasks(sc);
            sc.listenerBus().addToQueue(current, QUEUE);
        }
        return current;
    }

    @Override
    public synchronized void onStageSubmitted(SparkListenerStageSubmitted e) {
        Set<Integer> ids = new HashSet<>();
        scala.collection.Iterator<RDDInfo> it = e.stageInfo().rddInfos().iterator();
        while (it.hasNext()) {
            ids.add(it.next().id());
        }
        rdds.put(e.stageInfo().stageId(), ids);
        completed.remove(e.stageInfo().stageId());
    }

    @Override
    public synchronized void onTaskStart(SparkListenerTaskStart e) {
        if (rdds.containsKey(e.stageId())) { // a stage submitted before this listener was added is not followed
            running.merge(e.stageId(), 1, Integer::sum);
        }
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd e) {
        if (!running.containsKey(e.stageId())) {
            return;
        }
        running.merge(e.stageId(), -1, Integer::sum);
        forgetIfDone(e.stageId());
        notifyAll();
    }

    @Override
    public synchronized void onStageCompleted(SparkListenerStageCompleted e) {
        completed.add(e.stageInfo().stageId());
        forgetIfDone(e.stageInfo().stageId());
    }

    private void forgetIfDone(int stage) {
        if (completed.contains(stage) && running.getOrDefault(stage, 0) <= 0) {
            completed.remove(stage);
            rdds.remove(stage);
            running.remove(stage);
        }
    }

    private synchronized int runningOver(int rddId) {
        int n = 0;
        for (Map.Entry<Integer, Set<Integer>> s : rdds.entrySet()) {
            if (s.getValue().contains(rddId)) {
                n += Math.max(0, running.getOrDefault(s.getKey(), 0));
            }
        }
        return n;
    }

    /**
     * Waits until no task of a stage that computes {@code rddId} is running, at most {@code timeoutMillis}.
     * The events the scheduler has posted so far are taken in first, so that a task started before this call
     * counts. Follows only stages submitted after {@link #of} first ran for this context.
     *
     * @throws InterruptedException if the calling thread is interrupted while it waits
     */
    void awaitNoneOver(int rddId, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        try {
            sc.listenerBus().waitUntilEmpty(timeoutMillis);
        } catch (TimeoutException e) {
            LOG.warn("sparkprop: Spark's listener bus did not drain within {} ms; tasks over RDD {} may still run",
                    timeoutMillis, rddId);
        }
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        synchronized (this) {
            int n;
            while ((n = runningOver(rddId)) > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    LOG.warn("sparkprop: {} tasks over RDD {} still run {} ms after their job ended", n, rddId,
                            timeoutMillis);
                    break;
                }
                wait(Math.max(1, left / 1_000_000L));
            }
        }
    }
}
