package io.sparkprop.exec;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.optim.GradientStep;
import io.sparkprop.optim.Optimizer;
import io.sparkprop.util.DoubleArrays;
import io.sparkprop.util.Internal;
import org.apache.spark.Partitioner;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.BlockResult;
import org.apache.spark.storage.RDDBlockId;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;
import scala.Tuple2;
import scala.reflect.ClassTag$;

/**
 * The synchronous round's merge and update as a reduce-scatter on the executors: the parameter vector is cut into
 * {@code S} contiguous slices; every shard's task writes its partial sum {@code Σ_i w_i ∇C_i} as {@code S} slices
 * of shuffle output; reduce task {@code s} merges slice {@code s} of all partial sums in the fixed tree order of
 * {@link OrderedTreeAggregate} (the association of every addition a function of the number of partitions alone,
 * so the bits of the direct merge, whatever {@code S}, the cluster or the plan) and takes the gradient step on its
 * slice ({@link GradientStep#applySlice}) with the slice of the optimiser's state it keeps; the driver receives
 * the new slices of {@code θ} (8P bytes) instead of every shard's partial sum ({@code n · 8P}) and sends no
 * broadcast.
 *
 * <p>The state lives in a cached RDD of {@code S} partitions ({@link Slice}s: a slice's {@code θ} and state),
 * each round's made from the last one's and the shuffle by a narrow zip, replicated on two executors on a cluster
 * and checkpointed locally ({@code localCheckpoint}) so that its lineage — and the shuffle files it would keep
 * alive — ends at every round. Beside it, unreplicated, its slices of {@code θ} alone: the next round's tasks read
 * {@code θ} from those ({@link Theta}: once an executor, from the executors that hold them), so the driver
 * broadcasts nothing and receives the new slices of {@code θ}, {@code 8P} bytes. Reduce task {@code s} prefers
 * the executors that cache slice {@code s} of the last round, so that its state is read where it is. Every task
 * stays retryable: a reduce task reads the last round's slice (or its replica) and map outputs that Spark
 * recomputes from the round's broadcast if they are lost, and writes new objects (the cached ones are never
 * modified), so a retried task makes the same bits. A step that did not
 * update (a non-finite gradient or result in any slice) is {@linkplain #discard discarded} and the last state
 * stays.
 *
 * <p>What concerns the whole step is the driver's: every reduce task merges the same scalars (loss, weight,
 * count) in the same order, so each reports the same {@code W} and loss; the objective's penalty is computed on
 * the driver, which holds {@code θ}. Clipping needs the global norm before any slice moves: its rounds keep the
 * driver's merge.
 */
@Internal
public final class SlicedExchange implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SlicedExchange.class);
    /**
     * The Spark property (a local property of the fitting thread, else the Spark configuration) that picks the
     * synchronous rounds' exchange: {@code auto} (the default: {@link #choose}), {@code driver} or {@code sliced}.
     * It changes where the merge and step run, not a bit of the result.
     */
    public static final String EXCHANGE_KEY = "spark.sparkprop.exchange";
    /** The fewest values a slice holds: below this a reduce task costs more than it merges. */
    static final int MIN_SLICE_VALUES = 4096;

    private final JavaSparkContext sc;
    private final NetworkSpec spec;
    private final int partitions;
    private final int[] bounds;
    private final int[][] weightRanges;
    private final Optimizer rule;
    private final GradientStep step;
    private final StorageLevel level;
    /** The slices the rounds continue from, and the {@code θ} they hold ({@code null}: not seeded). */
    private JavaRDD<Slice> current;
    /**
     * {@link #current}'s slices of {@code θ} alone, cached beside them unreplicated: what the tasks read (a slice of
     * the state, fetched whole, would bring its moments too); lost, it is read from {@link #current}'s replica.
     */
    private JavaRDD<Slice> currentThetas;
    private Parameters holds;

    /**
     * An exchange for the parameters of {@code spec} merged from {@code partitions} shards' partial sums, in
     * {@code slices} slices (fewer if the parameters are few: {@link #MIN_SLICE_VALUES} at least each).
     */
    public SlicedExchange(JavaSparkContext sc, NetworkSpec spec, int partitions, int slices, Optimizer rule,
                          GradientStep step) {
        if (step.clips()) {
            throw new IllegalArgumentException("a clipped step has no slice form: clipping keeps the driver's merge");
        }
        int size = Math.toIntExact(spec.parameterCount());
        int s = sliceCount(size, slices);
        this.sc = sc;
        this.spec = spec;
        this.partitions = partitions;
        this.bounds = new int[s + 1];
        for (int i = 0; i <= s; i++) {
            bounds[i] = (int) ((long) size * i / s);
        }
        Parameters layout = Parameters.zeros(spec);
        this.weightRanges = new int[s][];
        for (int i = 0; i < s; i++) {
            weightRanges[i] = weightRanges(layout, bounds[i], bounds[i + 1]);
        }
        this.rule = rule;
        this.step = step;
        this.level = sc.isLocal() ? StorageLevel.MEMORY_AND_DISK() : StorageLevel.MEMORY_AND_DISK_2();
    }

    /**
     * Whether synchronous rounds of {@code partitions} partial results of {@code partialBytes} each take the
     * sliced exchange, by {@link #EXCHANGE_KEY}: {@code driver} never, {@code sliced} whenever it can (not with
     * clipping, nor a first layer kept as rows), {@code auto} when, on a cluster, the driver's merge would receive
     * more than {@link OrderedTreeAggregate#DIRECT_MERGE_BYTES} a round and the busiest link would carry fewer bytes
     * with the slices. In units of {@code 8P} a round, received and sent, with {@code n} partitions, one an
     * executor, and {@code a} state arrays: the driver's merge puts {@code n + 1} on the driver's link (the
     * partial results in, the broadcast out); the slices put {@code 2(n − 1)/n} (the shuffle out and in)
     * {@code + 2(n − 1)/n} ({@code θ}'s other slices fetched, its own served to the others) {@code + 2(1 + a)/n}
     * (its slice of {@code θ} and state replicated out and in) {@code + 1/n} (its new slice to the driver) on a
     * worker's link, and 1 on the driver's ({@code θ}'s new slices in). The choice and its reason are logged.
     *
     * @param stateArrays the rule's state arrays ({@link Optimizer#stateArrays()})
     * @param unsupported why this fit cannot take it ({@code null}: it can)
     * @throws IllegalArgumentException on a value other than the three, or {@code sliced} with {@code unsupported}
     */
    public static boolean choose(JavaSparkContext sc, int partitions, long partialBytes, int stateArrays,
                                 String unsupported) {
        String value = sc.getLocalProperty(EXCHANGE_KEY);
        if (value == null) {
            value = sc.getConf().get(EXCHANGE_KEY, "auto");
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        boolean chosen;
        String why;
        switch (v) {
            case "driver":
                chosen = false;
                why = EXCHANGE_KEY + " is driver";
                break;
            case "sliced":
                if (unsupported != null) {
                    throw new IllegalArgumentException(EXCHANGE_KEY + " is sliced, but " + unsupported
                            + ": set it to auto or driver");
                }
                chosen = true;
                why = EXCHANGE_KEY + " is sliced";
                break;
            case "auto":
                double driverBytes = (double) partitions * partialBytes;
                if (unsupported != null) {
                    chosen = false;
                    why = unsupported;
                } else if (sc.isLocal()) {
                    chosen = false;
                    why = "local mode: no network link to spare";
                } else if (partitions < 2 || driverBytes <= OrderedTreeAggregate.DIRECT_MERGE_BYTES) {
                    chosen = false;
                    why = String.format(Locale.ROOT, "the driver receives %.1f MB a round, within %d MB",
                            driverBytes / 1e6, OrderedTreeAggregate.DIRECT_MERGE_BYTES >> 20);
                } else {
                    double merged = partitions + 1;
                    double slicedLink = busiestSlicedLink(partitions, stateArrays);
                    chosen = slicedLink < merged;
                    why = String.format(Locale.ROOT, "the driver would receive %.1f MB a round (%d partial results "
                            + "of %.1f MB); the busiest link would carry %.2f × 8P a round with the slices, %.2f with "
                            + "the driver's merge", driverBytes / 1e6, partitions, partialBytes / 1e6, slicedLink,
                            merged);
                }
                break;
            default:
                throw new IllegalArgumentException(EXCHANGE_KEY + " must be auto, driver or sliced, found " + value);
        }
        LOG.info("sparkprop: {} exchange for the synchronous rounds: {}", chosen ? "the sliced" : "the driver's",
                why);
        return chosen;
    }

    /**
     * The bytes on the busiest link a sliced round moves, in units of {@code 8P}, by the model of {@link #choose}:
     * {@code max(1, 4(n − 1)/n + 2(1 + a)/n + 1/n)}.
     */
    static double busiestSlicedLink(int partitions, int stateArrays) {
        double n = partitions;
        return Math.max(1, 4 * (n - 1) / n + 2 * (1.0 + stateArrays) / n + 1 / n);
    }

    /**
     * The slices {@code parameters} values are cut into when {@code slices} are asked for: fewer if the parameters are
     * few, {@link #MIN_SLICE_VALUES} at least each, and at least one.
     */
    public static int sliceCount(long parameters, int slices) {
        return (int) Math.max(1, Math.min(slices, parameters / MIN_SLICE_VALUES));
    }

    /** The number of slices. */
    public int slices() {
        return bounds.length - 1;
    }

    /** What the exchange does, for logs and the fit's summary. */
    public String describe() {
        return String.format(Locale.ROOT, "reduce-scatter of %d partial results in %d slices on the executors, "
                + "optimiser state sharded with them", partitions, slices());
    }

    /** The weights' {@code [start, end)} ranges within {@code [from, to)}, relative to {@code from}. */
    private static int[] weightRanges(Parameters layout, int from, int to) {
        List<Integer> r = new ArrayList<>();
        for (int l = 0; l < layout.spec().numLayers(); l++) {
            int a = Math.max(from, layout.weightOffset(l));
            int b = Math.min(to, layout.biasOffset(l));
            if (a < b) {
                r.add(a - from);
                r.add(b - from);
            }
        }
        return r.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Whether the slices hold {@code theta} (the object the last {@link #commit} or {@link #seed} made them hold). */
    public boolean holds(Parameters theta) {
        return current != null && holds == theta;
    }

    /**
     * Makes the slices hold {@code theta} and the rule's {@code state} (arrays on the flat layout, as
     * {@link Optimizer.Updater#state()}), through the driver: at the start, and after the driver's {@code θ}
     * changed otherwise (a restored checkpoint).
     */
    public void seed(Parameters theta, double[][] state) {
        List<Slice> slices = new ArrayList<>();
        for (int s = 0; s < slices(); s++) {
            slices.add(new Slice(s, Arrays.copyOfRange(theta.values(), bounds[s], bounds[s + 1]),
                    state.length > 0 ? Arrays.copyOfRange(state[0], bounds[s], bounds[s + 1]) : null,
                    state.length > 1 ? Arrays.copyOfRange(state[1], bounds[s], bounds[s + 1]) : null));
        }
        JavaRDD<Slice> seeded = sc.parallelize(slices, slices()).setName("sparkprop parameter slices (seeded)")
                .persist(level);
        JavaRDD<Slice> thetas = thetasOf(seeded);
        thetas.count();
        replace(seeded, thetas);
        holds = theta;
    }

    /** The outcome of one {@link #step}, to {@link #commit} or {@link #discard}. */
    public static final class Step {
        private final GradientStep.Status status;
        private final double lossSum;
        private final double weightSum;
        private final long count;
        private final Parameters next;
        private final JavaRDD<Slice> slices;
        private final JavaRDD<Slice> thetas;

        private Step(GradientStep.Status status, double lossSum, double weightSum, long count, Parameters next,
                     JavaRDD<Slice> slices, JavaRDD<Slice> thetas) {
            this.status = status;
            this.lossSum = lossSum;
            this.weightSum = weightSum;
            this.count = count;
            this.next = next;
            this.slices = slices;
            this.thetas = thetas;
        }

        /** How the step ended: every slice {@link GradientStep.Status#UPDATED}, or the first failure. */
        public GradientStep.Status status() {
            return status;
        }

        /** {@code Σ_i w_i C_i} of the batch. */
        public double lossSum() {
            return lossSum;
        }

        /** {@code W = Σ_i w_i} of the batch. */
        public double weightSum() {
            return weightSum;
        }

        /** The batch's examples. */
        public long count() {
            return count;
        }

        /** The new {@code θ} (when {@link GradientStep.Status#UPDATED}; else {@code null}). */
        public Parameters parameters() {
            return next;
        }
    }

    /**
     * Merges {@code partials} (keyed by partition index, at most one per key) slice by slice on the executors and
     * takes the step of step size {@code eta} for a state that has taken {@code age} updates; one Spark job.
     *
     * @return the step, or {@code null} when there is no partial result
     * @throws IllegalStateException if not seeded
     */
    public Step step(JavaPairRDD<Integer, GradientSum> partials, double eta, long age) {
        if (current == null) {
            throw new IllegalStateException("the slices are not seeded");
        }
        int[] b = bounds;
        int n = partitions;
        int s = slices();
        JavaPairRDD<Long, Part> parts = partials.flatMapToPair(t -> {
            double[] g = t._2.gradient().values();
            List<Tuple2<Long, Part>> out = new ArrayList<>(b.length - 1);
            for (int i = 0; i + 1 < b.length; i++) {
                out.add(new Tuple2<>((long) i * n + t._1, new Part(Arrays.copyOfRange(g, b[i], b[i + 1]),
                        t._2.lossSum(), t._2.weightSum(), t._2.count())));
            }
            return out.iterator();
        });
        // Reduce task s runs where slice s of the last round is cached, so that it reads its state there instead of
        // fetching it: the scheduler takes the preferred locations of a narrow zip from the partition's own (the
        // intersection of its parents', else their union) and, when there are none, from its parents' cached
        // blocks, first parent first. The shuffle would prefer every host that holds a fifth of the slice's map
        // output (with a handful of shards, all of them); a pass-through hides those, and `current` comes first.
        JavaRDD<Tuple2<Long, Part>> bySlice = parts.repartitionAndSortWithinPartitions(new BySlice(s, n))
                .mapPartitions(it -> it, true);
        int[][] ranges = weightRanges;
        Optimizer r = rule;
        GradientStep st = step;
        JavaRDD<Slice> next = current.zipPartitions(bySlice, (previous, it) -> {
            Slice before = previous.next();
            return List.of(before.stepped(it, n, ranges[before.index], r, st, eta, age)).iterator();
        }).setName("sparkprop parameter slices").persist(level);
        // the lineage (and the shuffle files it keeps) ends here, once the job below has made the slices
        next.rdd().localCheckpoint();
        JavaRDD<Slice> thetas = thetasOf(next);
        List<Slice> outcomes;
        try {
            outcomes = thetas.collect();
        } catch (RuntimeException e) {
            remove(next, thetas);
            throw e;
        }
        return combine(outcomes, next, thetas);
    }

    /** The slices of {@code θ} (and the step's outcome) of {@code slices}, cached unreplicated. */
    private static JavaRDD<Slice> thetasOf(JavaRDD<Slice> slices) {
        return slices.map(Slice::withoutState).setName("sparkprop parameter slices of θ")
                .persist(StorageLevel.MEMORY_AND_DISK());
    }

    private Step combine(List<Slice> outcomes, JavaRDD<Slice> next, JavaRDD<Slice> thetas) {
        Slice first = outcomes.get(0);
        if (!first.present) {
            remove(next, thetas);
            return null;
        }
        GradientStep.Status status = GradientStep.Status.UPDATED;
        for (Slice o : outcomes) {
            if (o.status != GradientStep.Status.UPDATED) {
                status = o.status; // EMPTY and LOSS_NOT_FINITE are the same in every slice
                if (o.status == GradientStep.Status.GRADIENT_NOT_FINITE) {
                    break;
                }
            }
        }
        Parameters theta = null;
        if (status == GradientStep.Status.UPDATED) {
            double[] flat = new double[bounds[bounds.length - 1]];
            for (Slice o : outcomes) {
                System.arraycopy(o.theta, 0, flat, bounds[o.index], o.theta.length);
            }
            theta = Parameters.fromFlat(spec, flat);
        }
        return new Step(status, first.lossSum, first.weightSum, first.count, theta, next, thetas);
    }

    /** Makes {@code step}'s slices the ones the next rounds continue from. */
    public void commit(Step step) {
        replace(step.slices, step.thetas);
        holds = step.next;
    }

    /** Drops {@code step}'s slices: the rounds continue from the last committed ones. */
    public void discard(Step step) {
        remove(step.slices, step.thetas);
    }

    /** The rule's state on the flat layout, collected from the slices (a checkpoint's). */
    public double[][] state(int arrays) {
        if (current == null) {
            throw new IllegalStateException("the slices are not seeded");
        }
        double[][] state = new double[arrays][bounds[bounds.length - 1]];
        for (Slice sl : current.collect()) {
            if (arrays > 0) {
                System.arraycopy(sl.first, 0, state[0], bounds[sl.index], sl.first.length);
            }
            if (arrays > 1) {
                System.arraycopy(sl.second, 0, state[1], bounds[sl.index], sl.second.length);
            }
        }
        return state;
    }

    private void replace(JavaRDD<Slice> slices, JavaRDD<Slice> thetas) {
        if (current != null) {
            remove(current, currentThetas);
        }
        current = slices;
        currentThetas = thetas;
    }

    /**
     * Removes the blocks of {@code slices} and {@code thetas} from the executors (without waiting): what
     * {@code unpersist} does, less the warning Spark logs for every locally checkpointed RDD it unpersists — here
     * every round's, by design.
     */
    private void remove(JavaRDD<Slice> slices, JavaRDD<Slice> thetas) {
        sc.sc().unpersistRDD(thetas.id(), false);
        sc.sc().unpersistRDD(slices.id(), false);
    }

    /** Removes the slices from the executors. */
    @Override
    public void close() {
        if (current != null) {
            remove(current, currentThetas);
            current = null;
            currentThetas = null;
            holds = null;
        }
    }

    /**
     * The handle through which the tasks read the {@code θ} the slices hold ({@link PackedData#onShards(Theta,
     * java.util.function.Function, java.util.function.Function)}): no broadcast from the driver.
     *
     * @throws IllegalStateException if not seeded
     */
    public Theta theta() {
        if (current == null) {
            throw new IllegalStateException("the slices are not seeded");
        }
        return new Theta(currentThetas.id(), current.id(), bounds, spec);
    }

    /**
     * The {@code θ} held by the slices of one RDD, as a task reads it: each slice's cached block (here, or fetched
     * from an executor that holds it or its replica), assembled once per executor and shared by its tasks, which
     * must not write it. An executor keeps the two newest.
     */
    public static final class Theta implements Serializable {
        private static final long serialVersionUID = 1L;
        private static final Map<Integer, Parameters> CACHE = new LinkedHashMap<>(4, 0.75f, true);
        private final int rddId;
        /** The slices with their state, replicated: where a slice of {@code θ} is read when its own block is lost. */
        private final int stateRddId;
        private final int[] bounds;
        private final NetworkSpec spec;

        Theta(int rddId, int stateRddId, int[] bounds, NetworkSpec spec) {
            this.rddId = rddId;
            this.stateRddId = stateRddId;
            this.bounds = bounds;
            this.spec = spec;
        }

        NetworkSpec spec() {
            return spec;
        }

        /** {@code θ} on this executor. */
        Parameters onExecutor() {
            synchronized (CACHE) {
                Parameters cached = CACHE.get(rddId);
                if (cached != null) {
                    return cached;
                }
                double[] flat = new double[bounds[bounds.length - 1]];
                BlockManager blocks = SparkEnv.get().blockManager();
                for (int s = 0; s + 1 < bounds.length; s++) {
                    RDDBlockId id = new RDDBlockId(rddId, s);
                    Option<BlockResult> found = blocks.get(id, ClassTag$.MODULE$.apply(Slice.class));
                    if (found.isEmpty()) {
                        // its executor was lost: the slice with its state has a replica
                        RDDBlockId withState = new RDDBlockId(stateRddId, s);
                        found = blocks.get(withState, ClassTag$.MODULE$.apply(Slice.class));
                        if (found.isEmpty()) {
                            throw new IllegalStateException("slice " + s + " of the parameters (" + id.name() + ", "
                                    + withState.name() + ") is on no executor: every copy was lost");
                        }
                    }
                    scala.collection.Iterator<Object> values = found.get().data();
                    Slice slice = (Slice) values.next();
                    while (values.hasNext()) { // to its end, which releases the block's read lock
                        values.next();
                    }
                    System.arraycopy(slice.theta, 0, flat, bounds[s], slice.theta.length);
                }
                Parameters theta = Parameters.fromFlat(spec, flat);
                CACHE.put(rddId, theta);
                if (CACHE.size() > 2) {
                    Iterator<Integer> eldest = CACHE.keySet().iterator();
                    eldest.next();
                    eldest.remove();
                }
                return theta;
            }
        }
    }

    /** Sends key {@code slice · n + partition} to reduce task {@code slice}; keys sort by partition within it. */
    private static final class BySlice extends Partitioner {
        private static final long serialVersionUID = 1L;
        private final int slices;
        private final int partitions;

        BySlice(int slices, int partitions) {
            this.slices = slices;
            this.partitions = partitions;
        }

        @Override
        public int numPartitions() {
            return slices;
        }

        @Override
        public int getPartition(Object key) {
            return (int) ((Long) key / partitions);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BySlice && ((BySlice) o).slices == slices && ((BySlice) o).partitions == partitions;
        }

        @Override
        public int hashCode() {
            return 31 * slices + partitions;
        }
    }

    /** One shard's partial sum of one slice: the slice's values and the whole sum's scalars. */
    @DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
    static final class Part implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Written as raw bytes ({@link DoubleArrays}): every value crosses the shuffle. */
        transient double[] values;
        double lossSum;
        double weightSum;
        long count;

        Part(double[] values, double lossSum, double weightSum, long count) {
            this.values = values;
            this.lossSum = lossSum;
            this.weightSum = weightSum;
            this.count = count;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            DoubleArrays.write(out, values);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            values = DoubleArrays.read(in);
        }

        /** {@code this ← this + other}, as {@link GradientSum#mergeInPlace} adds: value by value, then the scalars. */
        Part mergeInPlace(Part other) {
            for (int i = 0; i < values.length; i++) {
                values[i] += other.values[i];
            }
            lossSum += other.lossSum;
            weightSum += other.weightSum;
            count += other.count;
            return this;
        }
    }

    /**
     * A slice of {@code θ} with its slice of the rule's state, as the executors keep it between rounds, and the
     * outcome of the step that made it. Never modified once made: a step makes a new one.
     */
    @DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
    static final class Slice implements Serializable {
        private static final long serialVersionUID = 1L;
        final int index;
        /**
         * Written as raw bytes ({@link DoubleArrays}): slices cross links to their replica, to the driver and to the
         * next round's tasks. Not final only so that {@link #readObject} can set them.
         */
        transient double[] theta;
        transient double[] first;
        transient double[] second;
        /** Whether the step that made it had any partial result. */
        final boolean present;
        final GradientStep.Status status;
        final double lossSum;
        final double weightSum;
        final long count;

        Slice(int index, double[] theta, double[] first, double[] second) {
            this(index, theta, first, second, false, null, 0, 0, 0);
        }

        private Slice(int index, double[] theta, double[] first, double[] second, boolean present,
                      GradientStep.Status status, double lossSum, double weightSum, long count) {
            this.index = index;
            this.theta = theta;
            this.first = first;
            this.second = second;
            this.present = present;
            this.status = status;
            this.lossSum = lossSum;
            this.weightSum = weightSum;
            this.count = count;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            writeNullable(out, theta);
            writeNullable(out, first);
            writeNullable(out, second);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            theta = readNullable(in);
            first = readNullable(in);
            second = readNullable(in);
        }

        private static void writeNullable(ObjectOutputStream out, double[] values) throws IOException {
            out.writeBoolean(values != null);
            if (values != null) {
                DoubleArrays.write(out, values);
            }
        }

        private static double[] readNullable(ObjectInputStream in) throws IOException {
            return in.readBoolean() ? DoubleArrays.read(in) : null;
        }

        /** This slice without the state arrays: what the driver receives. */
        Slice withoutState() {
            return new Slice(index, theta, null, null, present, status, lossSum, weightSum, count);
        }

        /**
         * The slice after the step on the partial sums {@code parts} (keyed {@code index · n + partition}, sorted),
         * merged in the tree order of {@code n} partitions; this one is left as it is.
         */
        Slice stepped(Iterator<Tuple2<Long, Part>> parts, int n, int[] weightRanges, Optimizer rule,
                      GradientStep step, double eta, long age) {
            List<Tuple2<Integer, Part>> keyed = new ArrayList<>();
            while (parts.hasNext()) {
                Tuple2<Long, Part> p = parts.next();
                keyed.add(new Tuple2<>((int) (p._1 % n), p._2));
            }
            Part sum = OrderedTreeAggregate.mergeAllLocally(keyed, n, Part::mergeInPlace);
            if (sum == null) {
                return new Slice(index, theta, first, second, false, null, 0, 0, 0);
            }
            GradientStep.Status status;
            double[] t = theta;
            double[] f = first;
            double[] v = second;
            if (sum.weightSum == 0) {
                status = GradientStep.Status.EMPTY;
            } else if (!Double.isFinite(sum.lossSum / sum.weightSum)) {
                status = GradientStep.Status.LOSS_NOT_FINITE;
            } else {
                t = theta.clone();
                f = first == null ? null : first.clone();
                v = second == null ? null : second.clone();
                status = step.applySlice(sum.values, sum.weightSum, t, f, v, weightRanges, rule, eta, age);
            }
            return new Slice(index, t, f, v, true, status, sum.lossSum, sum.weightSum, sum.count);
        }
    }
}
