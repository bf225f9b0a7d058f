package io.sparkprop.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Each update rule against the formula worked by hand for two steps. */
class OptimizerTest {

    @Test
    void sgdWithDecay() {
        Optimizer o = Optimizer.sgd(0.5, 1.0);
        double[] theta = {1.0, -2.0};
        Optimizer.Updater u = o.newUpdater(2);
        u.update(theta, new double[] {0.2, -0.4}, 0);     // η_0 = 0.5
        assertArrayEquals(new double[] {0.9, -1.8}, theta, 1e-15);
        u.update(theta, new double[] {0.2, -0.4}, 1);     // η_1 = 0.5 / 2
        assertArrayEquals(new double[] {0.85, -1.7}, theta, 1e-15);
        assertEquals(0.5 / 11, o.stepSizeAt(10), 1e-15);
        assertEquals(0.5, Optimizer.sgd(0.5).stepSizeAt(1000));
    }

    @Test
    void classicMomentum() {
        double[] theta = {1.0};
        Optimizer.Updater u = Optimizer.momentum(0.1, 0.9).newUpdater(1);
        u.update(theta, new double[] {2.0}, 0);  // v = −0.2, θ = 0.8
        u.update(theta, new double[] {1.0}, 1);  // v = 0.9·(−0.2) − 0.1 = −0.28, θ = 0.52
        assertEquals(0.52, theta[0], 1e-15);
    }

    @Test
    void nesterovMomentum() {
        double[] theta = {1.0};
        Optimizer.Updater u = Optimizer.nesterov(0.1, 0.9).newUpdater(1);
        u.update(theta, new double[] {2.0}, 0);  // v = −0.2, θ = 1 + 0.9·(−0.2) − 0.2 = 0.62
        assertEquals(0.62, theta[0], 1e-15);
        u.update(theta, new double[] {1.0}, 1);  // v = −0.28, θ = 0.62 − 0.252 − 0.1 = 0.268
        assertEquals(0.268, theta[0], 1e-15);
    }

    @Test
    void adamWithBiasCorrection() {
        double[] theta = {1.0};
        Optimizer.Updater u = Optimizer.adam(0.01, 0.9, 0.999, 1e-8).newUpdater(1);
        u.update(theta, new double[] {0.5}, 0);
        // t = 1: m̂ = g, v̂ = g², step = η g/(|g| + ε)
        assertEquals(1.0 - 0.01 * 0.5 / (0.5 + 1e-8), theta[0], 1e-15);
        double m = 0.1 * 0.5;
        double v = 0.001 * 0.25;
        u.update(theta, new double[] {-1.0}, 1);
        m = 0.9 * m + 0.1 * -1.0;
        v = 0.999 * v + 0.001 * 1.0;
        double expected = 1.0 - 0.01 * 0.5 / (0.5 + 1e-8)
                - 0.01 * (m / (1 - 0.81)) / (Math.sqrt(v / (1 - 0.999 * 0.999)) + 1e-8);
        assertEquals(expected, theta[0], 1e-15);
    }

    @Test
    void decayAppliesToEveryRule() {
        Optimizer adam = Optimizer.adam(0.01).withDecay(0.5);
        assertEquals(0.01 / 3, adam.stepSizeAt(4), 1e-15);
        double[] theta = {1.0};
        Optimizer.Updater u = adam.newUpdater(1);
        u.update(theta, new double[] {0.5}, 2); // first update at t = 2: η_2 = 0.005; m̂, v̂ bias-corrected with t + 1 = 3
        double m = 0.1 * 0.5;
        double v = 0.001 * 0.25;
        double expected = 1.0 - 0.005 * (m / (1 - Math.pow(0.9, 3))) / (Math.sqrt(v / (1 - Math.pow(0.999, 3))) + 1e-8);
        assertEquals(expected, theta[0], 1e-15);
        assertEquals("momentum(stepSize=0.1, momentum=0.9, decay=0.5)", Optimizer.momentum(0.1, 0.9).withDecay(0.5).toString());
    }

    @Test
    void badSettingsAreRejected() {
        assertEquals("stepSize must be finite and > 0, found 0.0",
                assertThrows(IllegalArgumentException.class, () -> Optimizer.sgd(0)).getMessage());
        assertEquals("stepSize must be finite and > 0, found NaN",
                assertThrows(IllegalArgumentException.class, () -> Optimizer.adam(Double.NaN)).getMessage());
        assertEquals("momentum must be in [0, 1), found 1.0",
                assertThrows(IllegalArgumentException.class, () -> Optimizer.momentum(0.1, 1.0)).getMessage());
        assertEquals("step decay must be finite and >= 0, found -1.0",
                assertThrows(IllegalArgumentException.class, () -> Optimizer.sgd(0.1, -1)).getMessage());
        assertEquals("beta2 must be in [0, 1), found 1.5",
                assertThrows(IllegalArgumentException.class, () -> Optimizer.adam(0.1, 0.9, 1.5, 1e-8)).getMessage());
    }

    /** An updater continued from another's state takes the same step as that one; a state of another shape is refused. */
    @Test
    void anUpdaterContinuesFromAnothersState() {
        Optimizer adam = Optimizer.adam(0.1);
        Optimizer.Updater a = adam.newUpdater(2);
        double[] thetaA = {1.0, -1.0};
        a.update(thetaA, new double[] {0.3, -0.2}, 0.1, 0);
        Optimizer.Updater b = adam.newUpdater(2);
        b.copyStateFrom(a.state());
        double[] thetaB = thetaA.clone();
        a.update(thetaA, new double[] {0.1, 0.4}, 0.1, 1);
        b.update(thetaB, new double[] {0.1, 0.4}, 0.1, 1);
        assertArrayEquals(thetaA, thetaB, 0.0);
        assertEquals("optimizer state of 1 arrays given, adam keeps 2", assertThrows(IllegalArgumentException.class,
                () -> b.copyStateFrom(new double[][] {new double[2]})).getMessage());
        assertEquals("optimizer state array 1 has 3 values, the parameters 2", assertThrows(
                IllegalArgumentException.class, () -> b.copyStateFrom(new double[][] {new double[2], new double[3]}))
                .getMessage());
    }
}
