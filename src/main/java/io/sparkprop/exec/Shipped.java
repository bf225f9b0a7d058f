package io.sparkprop.exec;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;

import com.esotericsoftware.kryo.DefaultSerializer;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import io.sparkprop.linalg.Precision;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import io.sparkprop.util.DoubleArrays;
import io.sparkprop.util.Internal;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.LongAccumulator;

/**
 * The parameters a round sends its tasks. Spark serialises every stage's function once and broadcasts it
 * (the stage's task binary), so parameters held in the function travel the same way as a broadcast of
 * their own, minus that broadcast's creation, fetch and removal — a few milliseconds a round. Small
 * parameters ride in the function; large ones get a broadcast, because Spark warns about task binaries
 * above 1 MiB and a broadcast is fetched in pieces. Either way every task reads the same bits.
 *
 * <p>For a float32 fit the parameters travel as floats (half the bytes): the float32 kernel multiplies with
 * their float copy anyway, so every task reads exactly the values it would have rounded itself. The driver's
 * master parameters stay double.
 *
 * <p>A round of local steps also ships the optimiser's state (velocity, or Adam's moments) that its shards
 * continue from: as doubles whatever the precision, as the driver keeps it (like the master parameters): no GEMM
 * reads it, and rounding it every round would change the run's state, not just its arithmetic.
 *
 * <p>Parameters whose first layer is kept as rows per feature ({@link FirstLayerRows}) travel without {@code W_0}
 * ({@link Parameters#withoutFirstLayerWeights(NetworkSpec)}), as doubles in either precision, beside the rows'
 * {@link FirstLayerRows.Version}: the handles through which each executor brings its copy of the rows to this
 * round's version.
 */
@Internal
public final class Shipped implements Serializable, AutoCloseable {
    private static final long serialVersionUID = 1L;
    /** Parameters up to this many bytes ride in the task binary. */
    static final long IN_TASK_BYTES = 256 << 10;

    /** What travels, in the task binary ({@code inTask}) or as a broadcast: a {@link Payload}. */
    private final Payload inTask;
    private final Broadcast<Payload> broadcast;
    /** The network of float32 parameters ({@code null} for float64, whose {@link Parameters} know theirs). */
    private final NetworkSpec spec;

    /** Where tasks count the bytes they read from disk ({@code null}: not counted). */
    private final LongAccumulator diskBytesRead;

    private Shipped(Payload inTask, Broadcast<Payload> broadcast, NetworkSpec spec, LongAccumulator diskBytesRead) {
        this.diskBytesRead = diskBytesRead;
        this.inTask = inTask;
        this.broadcast = broadcast;
        this.spec = spec;
    }

    /**
     * Ships {@code parameters} in {@code precision}, with the counter of bytes read from disk; they must not
     * change until {@link #close}.
     */
    static Shipped of(JavaSparkContext sc, Parameters parameters, double[][] state, Precision precision,
                      LongAccumulator diskBytesRead) {
        return of(sc, parameters, null, state, precision, diskBytesRead);
    }

    /**
     * {@link #of(JavaSparkContext, Parameters, double[][], Precision, LongAccumulator)} of parameters without
     * {@code W_0} and the version of its rows ({@code null}: parameters that hold {@code W_0}).
     */
    static Shipped of(JavaSparkContext sc, Parameters parameters, FirstLayerRows.Version rows, double[][] state,
                      Precision precision, LongAccumulator diskBytesRead) {
        if ((rows == null) != parameters.holdsFirstLayerWeights()) {
            throw new IllegalArgumentException(rows == null ? "parameters without the first layer's weights need "
                    + "its rows" : "parameters with the first layer's weights ship no rows");
        }
        Object values = parameters;
        NetworkSpec floatSpec = null;
        // beside rows, the other values travel as doubles whatever the precision: they are the network's small part,
        // and a float32 kernel rounds them as it loads them, to the values a float copy would have held
        if (precision == Precision.FLOAT32 && rows == null) {
            float[] f = new float[parameters.size()];
            parameters.copyToFloats(f);
            values = f;
            floatSpec = parameters.spec();
        }
        Payload payload = new Payload(values, state, rows);
        long bytes = (long) (floatSpec != null ? 4 : 8) * parameters.size() + 8L * parameters.size() * state.length;
        return bytes <= IN_TASK_BYTES ? new Shipped(payload, null, floatSpec, diskBytesRead)
                : new Shipped(null, sc.broadcast(payload), floatSpec, diskBytesRead);
    }

    /**
     * Ships a handle of the parameters the sliced exchange's slices hold ({@link SlicedExchange.Theta}) instead of
     * the parameters: each executor reads them from the slices' blocks (once, for all its tasks), and the driver
     * sends nothing but the handle. In float32 the tasks round them to floats as {@link #of} would have.
     */
    static Shipped ofSlices(SlicedExchange.Theta theta, Precision precision, LongAccumulator diskBytesRead) {
        return new Shipped(new Payload(theta, new double[0][], null), null,
                precision == Precision.FLOAT32 ? theta.spec() : null, diskBytesRead);
    }

    private Payload payload() {
        return inTask != null ? inTask : broadcast.value();
    }

    /** The parameters, on the executor (or the driver); float32 ones widened to double, which is exact. */
    Parameters value() {
        Object values = payload().parameters;
        if (values instanceof SlicedExchange.Theta) {
            Parameters doubles = ((SlicedExchange.Theta) values).onExecutor();
            if (spec == null) {
                return doubles;
            }
            float[] f = new float[doubles.size()];
            doubles.copyToFloats(f);
            values = f;
        }
        if (spec == null) {
            return (Parameters) values;
        }
        return Parameters.fromFloats(spec, (float[]) values);
    }

    /**
     * The first layer's rows for these parameters, on the executor ({@link FirstLayerRows.Version#rows()}: shared
     * by the executor's tasks, never to be written); {@code null} for parameters that hold {@code W_0}.
     */
    double[][] firstLayerRows() {
        FirstLayerRows.Version rows = payload().rows;
        return rows == null ? null : rows.rows();
    }

    /**
     * The optimiser state shipped with the parameters (no arrays when none was), shared by the tasks of an
     * executor: read it, never write it.
     */
    double[][] state() {
        return payload().state;
    }

    /** Counts {@code bytes} read from disk by a task. */
    void readFromDisk(long bytes) {
        if (diskBytesRead != null && bytes > 0) {
            diskBytesRead.add(bytes);
        }
    }

    /**
     * The parameters as shipped ({@link Parameters} for float64, {@code float[]} for float32, or the handle of the
     * slices that hold them) and the state.
     */
    @DefaultSerializer(JavaSerializer.class) // its Java serialisation hooks, also under Kryo
    private static final class Payload implements Serializable {
        private static final long serialVersionUID = 1L;

        final Object parameters;
        /** Written as raw bytes ({@link DoubleArrays}), as {@link Parameters} write their values. */
        transient double[][] state;
        final FirstLayerRows.Version rows;

        Payload(Object parameters, double[][] state, FirstLayerRows.Version rows) {
            this.parameters = parameters;
            this.state = state;
            this.rows = rows;
        }

        private void writeObject(ObjectOutputStream out) throws IOException {
            out.defaultWriteObject();
            DoubleArrays.writeEach(out, state);
        }

        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            state = DoubleArrays.readEach(in, 2); // a rule keeps at most two state arrays
        }
    }

    /** Removes the broadcast, if there is one, from the executors (asynchronously). */
    @Override
    public void close() {
        if (broadcast != null) {
            broadcast.destroy();
        }
    }
}
