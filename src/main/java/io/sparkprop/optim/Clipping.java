package io.sparkprop.optim;

import io.sparkprop.util.Internal;

/**
 * Global-norm gradient clipping (Pascanu et al. 2013): a gradient longer than {@code c} is scaled to length
 * {@code c}, its direction kept, {@code g ← g · c/‖g‖}.
 */
@Internal
public final class Clipping {
    private Clipping() {
    }

    /**
     * Clips {@code g} (modified) to the global norm {@code clipNorm} when it is larger. Returns {@code ‖g‖} before
     * clipping, or NaN without clipping ({@code clipNorm = 0}: the norm is then not computed).
     */
    public static double clip(double[] g, double clipNorm) {
        return clip(new double[][] {g}, clipNorm);
    }

    /**
     * {@link #clip(double[], double)} of the vector made of {@code parts} one after the other (each modified): one
     * global norm over all of them.
     */
    public static double clip(double[][] parts, double clipNorm) {
        if (clipNorm == 0) {
            return Double.NaN;
        }
        // scaled by the largest |g_i| first, so that no square overflows or underflows
        double largest = 0;
        for (double[] g : parts) {
            for (double v : g) {
                largest = Math.max(largest, Math.abs(v));
            }
        }
        if (largest == 0) {
            return 0.0;
        }
        double squares = 0;
        for (double[] g : parts) {
            for (double v : g) {
                double u = v / largest;
                squares += u * u;
            }
        }
        double norm = largest * Math.sqrt(squares);
        if (norm > clipNorm) {
            double scale = clipNorm / norm;
            for (double[] g : parts) {
                for (int i = 0; i < g.length; i++) {
                    g[i] *= scale;
                }
            }
        }
        return norm;
    }
}
