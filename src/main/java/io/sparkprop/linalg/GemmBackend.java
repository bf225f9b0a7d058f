package io.sparkprop.linalg;

import java.util.Locale;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which {@link Gemm} implementation to use. {@link #AUTO} (the default) picks Spark's netlib BLAS
 * when it resolves to native code or the Vector API, and EJML otherwise; {@link #EJML} and
 * {@link #NETLIB} force one. Their rates on the MLP's shapes are measured by {@code jobs/bench kernel}
 * (figures in the README).
 */
public enum GemmBackend {
    AUTO,
    EJML,
    NETLIB;

    private static final Logger LOG = LoggerFactory.getLogger(GemmBackend.class);
    private static volatile Gemm autoChoice;

    /**
     * The GEMM for this choice. The choice {@code AUTO} makes is computed once per JVM and logged
     * at INFO with the implementation that runs.
     */
    public Gemm gemm() {
        switch (this) {
            case EJML:
                return EjmlGemm.INSTANCE;
            case NETLIB:
                return NetlibGemm.resolve();
            default:
                Gemm chosen = autoChoice;
                if (chosen == null) {
                    chosen = chooseAuto();
                    autoChoice = chosen;
                }
                return chosen;
        }
    }

    private static synchronized Gemm chooseAuto() {
        if (autoChoice != null) {
            return autoChoice;
        }
        Gemm chosen;
        try {
            NetlibGemm netlib = NetlibGemm.resolve();
            if (netlib.isAccelerated()) {
                chosen = netlib;
                LOG.info("GEMM backend auto: using {}", netlib);
            } else {
                chosen = EjmlGemm.INSTANCE;
                LOG.info("GEMM backend auto: netlib resolved only to {}, using ejml", netlib.implementation());
            }
        } catch (LinkageError e) {
            chosen = EjmlGemm.INSTANCE;
            LOG.info("GEMM backend auto: netlib BLAS is not on the classpath ({}), using ejml", e.toString());
        }
        return chosen;
    }

    /**
     * Parses {@code auto}, {@code ejml} or {@code netlib} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static GemmBackend fromName(String name) {
        return io.sparkprop.util.Names.parse(GemmBackend.class, "GEMM backend", name);
    }

    /** Lower-case name, as used in settings. */
    public String lowerName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
