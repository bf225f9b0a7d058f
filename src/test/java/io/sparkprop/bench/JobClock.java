package io.sparkprop.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;

/**
 * Per-iteration times of any trainer, taken alike for all: the Spark jobs an iteration runs are picked by their
 * description or first stage's name, and an iteration's time is the gap between the ends of two consecutive such
 * jobs (its job and the driver's work before the next). A gap is a difference of two ordered event times, so it
 * cannot come out negative, and set-up costs before the first iteration's job are not in any gap.
 */
final class JobClock extends SparkListener implements AutoCloseable {
    /** A finished job: its end time (ms, the scheduler's clock), description and first stage's name. */
    record Job(int id, long endMillis, String description, String stage) {
    }

    private final SparkContext sc;
    private final Map<Integer, String[]> started = new ConcurrentHashMap<>();
    private final List<Job> finished = new ArrayList<>();
    private int groups;
    /** The first stage names of the jobs taken as iterations so far, with their counts. */
    final Map<String, Integer> matched = new java.util.TreeMap<>();

    JobClock(SparkContext sc) {
        this.sc = sc;
        sc.addSparkListener(this);
    }

    @Override
    public void onJobStart(SparkListenerJobStart start) {
        String description = start.properties() == null ? null
                : start.properties().getProperty("spark.job.description");
        String stage = start.stageInfos().isEmpty() ? "" : start.stageInfos().last().name();
        started.put(start.jobId(), new String[] {description == null ? "" : description, stage});
    }

    @Override
    public void onJobEnd(SparkListenerJobEnd end) {
        String[] what = started.getOrDefault(end.jobId(), new String[] {"", ""});
        synchronized (finished) {
            finished.add(new Job(end.jobId(), end.time(), what[0], what[1]));
        }
    }

    /**
     * Runs {@code fit} and returns the gaps, in seconds, between the ends of its consecutive jobs that {@code
     * iteration} accepts, skipping the first {@code skip} gaps (the JIT's, the caches' first reads).
     */
    double[] iterationSeconds(Runnable fit, Predicate<Job> iteration, int skip) {
        String group = "sparkprop-bench-clock-" + (groups++);
        sc.setJobGroup(group, "timed fit", false);
        try {
            fit.run();
        } finally {
            sc.clearJobGroup();
        }
        List<Long> ends = new ArrayList<>();
        for (Job j : awaitJobs(sc.statusTracker().getJobIdsForGroup(group))) {
            if (iteration.test(j)) {
                ends.add(j.endMillis());
                matched.merge(j.stage(), 1, Integer::sum);
            }
        }
        ends.sort(Long::compare);
        int gaps = Math.max(0, ends.size() - 1 - skip);
        double[] seconds = new double[gaps];
        for (int i = 0; i < gaps; i++) {
            seconds[i] = (ends.get(skip + i + 1) - ends.get(skip + i)) / 1e3;
        }
        return seconds;
    }

    /** The finished jobs of {@code ids}, once the listener bus has delivered all their ends. */
    private List<Job> awaitJobs(int[] ids) {
        java.util.Set<Integer> wanted = new java.util.HashSet<>();
        for (int id : ids) {
            wanted.add(id);
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            List<Job> jobs = new ArrayList<>();
            synchronized (finished) {
                for (Job j : finished) {
                    if (wanted.contains(j.id())) {
                        jobs.add(j);
                    }
                }
            }
            if (jobs.size() == wanted.size()) {
                return jobs;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the ends of " + wanted.size() + " jobs never arrived (" + jobs.size()
                        + " did)");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    @Override
    public void close() {
        sc.removeSparkListener(this);
    }
}
