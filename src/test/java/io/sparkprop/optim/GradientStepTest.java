package io.sparkprop.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkprop.nn.Activation;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.NetworkSpec;
import io.sparkprop.nn.Parameters;
import org.junit.jupiter.api.Test;

/** The one gradient step of every round, against its formula worked out here; its failures leave θ as it was. */
class GradientStepTest {
    /** 3 → 2 → 1: W_1 (2×3), b_1, W_2 (1×2), b_2; 11 values. */
    private static final NetworkSpec NET = NetworkSpec.builder().input(3).dense(2, Activation.TANH)
            .dense(1, Activation.IDENTITY).build();

    /** A batch of weight {@code w} whose summed gradient is {@code g} and summed loss {@code loss}. */
    private static GradientSum sums(double[] g, double loss, double w) {
        GradientSum sum = new GradientSum(NET);
        System.arraycopy(g, 0, sum.accumulator().values(), 0, g.length);
        sum.addTotalsInPlace(loss, w, 4);
        return sum;
    }

    private static double[] ramp(double scale) {
        double[] v = new double[Parameters.zeros(NET).size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = scale * (i % 2 == 0 ? i + 1 : -(i + 1)) / 7.0;
        }
        return v;
    }

    /** Whether value {@code i} of the flat layout is a weight (biases are not penalised). */
    private static boolean isWeight(Parameters p, int i) {
        for (int l = 0; l < NET.numLayers(); l++) {
            if (i >= p.weightOffset(l) && i < p.biasOffset(l)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void sgdStepIsTheMeanGradientPlusTheRidgeTerm() {
        double lambda = 0.03;
        double eta = 0.2;
        double w = 2.5;
        double[] g = ramp(1.0);
        Parameters theta = Parameters.fromFlat(NET, ramp(0.3));
        double[] expected = theta.toFlat();
        double penalty = 0;
        for (int i = 0; i < expected.length; i++) {
            double wi = isWeight(theta, i) ? expected[i] : 0.0;
            penalty += wi * wi;
            expected[i] -= eta * (g[i] / w + lambda * wi);
        }
        GradientStep.Result r = new GradientStep(lambda, 0).apply(sums(g, 1.75, w), theta,
                Optimizer.sgd(eta).newUpdater(theta.size()), eta, 0);
        assertEquals(GradientStep.Status.UPDATED, r.status());
        assertArrayEquals(expected, theta.toFlat(), 1e-15);
        assertEquals(1.75 / w, r.meanLoss(), 0.0);
        assertEquals(1.75 / w + 0.5 * lambda * penalty, r.objective(), 1e-15);
        assertTrue(Double.isNaN(r.gradientNorm()), "no clipping: the norm is not computed");
        assertFalse(r.clipped());
    }

    @Test
    void clipsTheObjectivesGradientToTheNorm() {
        double lambda = 0.1;
        double[] g = ramp(4.0);
        Parameters start = Parameters.fromFlat(NET, ramp(0.5));
        double[] mean = g.clone();
        double norm = 0;
        for (int i = 0; i < mean.length; i++) {
            mean[i] = mean[i] / 2.0 + (isWeight(start, i) ? lambda * start.values()[i] : 0.0);
            norm += mean[i] * mean[i];
        }
        norm = Math.sqrt(norm);
        double c = norm / 3;
        Parameters theta = start.copy();
        GradientStep.Result r = new GradientStep(lambda, c).apply(sums(g, 1.0, 2.0), theta,
                Optimizer.sgd(1.0).newUpdater(theta.size()), 1.0, 0);
        assertTrue(r.clipped());
        assertEquals(norm, r.gradientNorm(), 1e-14 * norm);
        for (int i = 0; i < mean.length; i++) {
            assertEquals(start.values()[i] - mean[i] * c / norm, theta.values()[i], 1e-15, "value " + i);
        }
        // a norm above the gradient's: recorded, the step untouched
        Parameters free = start.copy();
        GradientStep.Result unclipped = new GradientStep(lambda, 10 * norm).apply(sums(g, 1.0, 2.0), free,
                Optimizer.sgd(1.0).newUpdater(free.size()), 1.0, 0);
        assertFalse(unclipped.clipped());
        assertEquals(norm, unclipped.gradientNorm(), 1e-14 * norm);
        for (int i = 0; i < mean.length; i++) {
            assertEquals(start.values()[i] - mean[i], free.values()[i], 1e-15, "value " + i);
        }
    }

    @Test
    void adamTakesTheUpdatersAge() {
        double[] g = ramp(1.0);
        Parameters a = Parameters.fromFlat(NET, ramp(0.3));
        Parameters b = a.copy();
        Optimizer adam = Optimizer.adam(0.01);
        new GradientStep(0, 0).apply(sums(g, 1.0, 1.0), a, adam.newUpdater(a.size()), 0.01, 5);
        Optimizer.Updater direct = adam.newUpdater(b.size());
        direct.update(b.values(), g, 0.01, 5);
        assertArrayEquals(b.toFlat(), a.toFlat(), 0.0);
    }

    @Test
    void aBatchOfWeightZeroLeavesThetaAlone() {
        Parameters theta = Parameters.fromFlat(NET, ramp(0.3));
        double[] before = theta.toFlat();
        GradientStep.Result r = new GradientStep(0.1, 1).apply(sums(ramp(1), 0.0, 0.0), theta,
                Optimizer.sgd(0.1).newUpdater(theta.size()), 0.1, 0);
        assertEquals(GradientStep.Status.EMPTY, r.status());
        assertFalse(r.diverged());
        assertArrayEquals(before, theta.toFlat(), 0.0);
    }

    @Test
    void nonFiniteLossOrGradientStopsBeforeTheUpdate() {
        Parameters theta = Parameters.fromFlat(NET, ramp(0.3));
        double[] before = theta.toFlat();
        Optimizer.Updater u = Optimizer.momentum(0.1, 0.9).newUpdater(theta.size());
        GradientStep step = new GradientStep(0.1, 1);
        GradientStep.Result loss = step.apply(sums(ramp(1), Double.POSITIVE_INFINITY, 1.0), theta, u, 0.1, 0);
        assertEquals(GradientStep.Status.LOSS_NOT_FINITE, loss.status());
        assertTrue(loss.diverged());
        assertEquals("the loss is not finite", loss.status().description());
        double[] g = ramp(1);
        g[3] = Double.NaN;
        GradientStep.Result grad = step.apply(sums(g, 1.0, 1.0), theta, u, 0.1, 0);
        assertEquals(GradientStep.Status.GRADIENT_NOT_FINITE, grad.status());
        assertEquals(1.0, grad.meanLoss(), 0.0);
        assertArrayEquals(before, theta.toFlat(), 0.0);
        assertArrayEquals(new double[theta.size()], u.state()[0], 0.0, "the velocity is untouched too");
    }

    @Test
    void anUpdateThatOverflowsIsReported() {
        Parameters theta = Parameters.fromFlat(NET, ramp(1e300));
        GradientStep.Result r = new GradientStep(0, 0).apply(sums(ramp(-1e300), 1.0, 1e-10), theta,
                Optimizer.sgd(1e10).newUpdater(theta.size()), 1e10, 0);
        assertEquals(GradientStep.Status.PARAMETERS_NOT_FINITE, r.status());
        assertTrue(r.diverged());
        assertFalse(theta.isFinite());
    }

    @Test
    void clippingNeitherOverflowsNorUnderflows() {
        double[] big = {3e200, 4e200};
        assertEquals(5e200, Clipping.clip(big, 1), 1e186);
        assertEquals(1.0, Math.hypot(big[0], big[1]), 1e-15);
        double[] small = {3e-200, 4e-200};
        assertEquals(5e-200, Clipping.clip(small, 1), 1e-214);
        assertEquals(3e-200, small[0], 0.0);
        assertEquals(0.0, Clipping.clip(new double[] {0, 0}, 1), 0.0);
        assertTrue(Double.isNaN(Clipping.clip(new double[] {1, 2}, 0)));
    }
}
