package org.realmjava.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode autograd on a tape (micrograd-sized). Each op that produces a tensor from inputs
 * that require gradients records a {@link Node}: its inputs and a backward function that
 * accumulates into the inputs' gradients. {@link #backward} sorts the graph topologically and
 * walks it in reverse.
 */
public final class Autograd {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> true);

    private Autograd() {}

    /** Backward function of one node: given d(loss)/d(output), accumulate into the inputs. */
    @FunctionalInterface
    public interface BackwardFn {
        void apply(Tensor gradOutput);
    }

    /** A recorded op: its name (for errors), its inputs, its backward function. */
    public record Node(String op, Tensor[] inputs, BackwardFn backward) {}

    /** Restores the previous grad mode when closed. */
    public record Scope(boolean previous) implements AutoCloseable {
        @Override
        public void close() {
            ENABLED.set(previous);
        }
    }

    /** A scope in which no graph is recorded: {@code try (var g = Autograd.noGrad()) { ... }}. */
    public static Scope noGrad() {
        boolean previous = ENABLED.get();
        ENABLED.set(false);
        return new Scope(previous);
    }

    public static boolean enabled() {
        return ENABLED.get();
    }

    /** A scope in which the graph is recorded again (inside a backward, which runs without one). */
    static Scope enableGrad() {
        boolean previous = ENABLED.get();
        ENABLED.set(true);
        return new Scope(previous);
    }

    /**
     * f(x) without keeping f's intermediate activations: f's graph is dropped as soon as it has run,
     * and f runs again with one when the backward reaches its output, which then back-propagates through that second run
     * (activation recomputation: the memory of f's activations for about one more forward).
     * f must compute the same values both times (replay any randomness it draws from a seed taken
     * before) and read only x and leaf tensors: its parameters receive their gradients during the
     * second run's backward, as a direct use would give them; {@code params} lists those leaves, so
     * the node is recorded when only they require a gradient.
     */
    public static Tensor recompute(String op, Tensor x, java.util.function.UnaryOperator<Tensor> f, List<Tensor> params) {
        boolean record = needsGrad(x) || (ENABLED.get() && params.stream().anyMatch(Tensor::requiresGrad));
        if (!record) return f.apply(x);
        // the first run records its graph too, then drops it: ops choose kernels by whether they
        // record (e.g. a packed-weight GEMM without one), and both runs must give the same bits
        Tensor out = f.apply(x).detach();
        out.setNode(new Node(op, new Tensor[] {x}, gradOut -> {
            Tensor leaf = x.detach();
            if (x.requiresGrad()) leaf.requiresGrad(true);
            Tensor again;
            try (var g = enableGrad()) {
                again = f.apply(leaf);
            }
            if (again.requiresGrad()) again.backward(gradOut);
            if (leaf.grad() != null) accumulate(x, leaf.grad());
        }));
        return out;
    }

    /** True when an op on these inputs must record a node. */
    static boolean needsGrad(Tensor... inputs) {
        if (!ENABLED.get()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /** Attaches a node to out when any input requires a gradient; returns out. */
    static Tensor record(String op, Tensor out, BackwardFn fn, Tensor... inputs) {
        if (needsGrad(inputs)) {
            out.setNode(new Node(op, inputs, fn));
        }
        return out;
    }

    /**
     * Runs the backward pass from root with the given seed gradient (same shape as root).
     * Leaf tensors accumulate into {@link Tensor#grad()}; intermediate gradients are freed as
     * soon as their node has run.
     */
    static void backward(Tensor root, Tensor seed) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("backward: the tensor does not require grad (no input of its graph has requiresGrad set)");
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        // a backward run inside another one's node (recompute) hands the outer map back when done
        Map<Tensor, Tensor> outer = PENDING.get();
        grads.put(root, seed);
        try (var scope = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue;
                Node node = t.node();
                if (node == null) {
                    t.accumulateGrad(g);
                } else {
                    if (t.retainsGrad()) t.accumulateGrad(g);
                    PENDING.set(grads);
                    try {
                        if (PROFILE) {
                            long t0 = System.nanoTime();
                            node.backward().apply(g);
                            BACKWARD_NANOS.computeIfAbsent(node.op(), k -> new java.util.concurrent.atomic.LongAdder()).add(System.nanoTime() - t0);
                        } else {
                            node.backward().apply(g);
                        }
                    } finally {
                        if (outer == null) PENDING.remove();
                        else PENDING.set(outer);
                    }
                }
            }
        }
    }

    /**
     * {@code -Drealm.autograd.profile=true}: the wall time of every node's backward is summed by op
     * name (a linear's includes its GEMMs and the gradient sums it triggers), read with
     * {@link #backwardProfile()}. Off by default: then the loop takes no clock.
     */
    private static final boolean PROFILE = Boolean.getBoolean("realm.autograd.profile");
    private static final java.util.concurrent.ConcurrentHashMap<String, java.util.concurrent.atomic.LongAdder> BACKWARD_NANOS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** Nanoseconds spent in each op's backward since the last reset, largest first (empty unless realm.autograd.profile is set). */
    public static Map<String, Long> backwardProfile() {
        Map<String, Long> out = new LinkedHashMap<>();
        BACKWARD_NANOS.entrySet().stream()
                .sorted((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum()))
                .forEach(e -> out.put(e.getKey(), e.getValue().sum()));
        return out;
    }

    /** Clears {@link #backwardProfile()} (e.g. after warm-up). */
    public static void resetBackwardProfile() {
        BACKWARD_NANOS.clear();
    }

    private static final ThreadLocal<Map<Tensor, Tensor>> PENDING = new ThreadLocal<>();

    /**
     * Called by backward functions: adds g to the gradient flowing into input (if input needs one).
     * g must have input's shape. g is owned by the callee after this call.
     */
    static void accumulate(Tensor input, Tensor g) {
        if (input == null || !input.requiresGrad()) return;
        if (!java.util.Arrays.equals(input.shape(), g.shape())) {
            throw new IllegalStateException("autograd: gradient shape " + Shapes.str(g.shape())
                    + " does not match input shape " + Shapes.str(input.shape()));
        }
        Map<Tensor, Tensor> grads = PENDING.get();
        Tensor prev = grads.get(input);
        if (prev == null) {
            grads.put(input, g.isContiguous() ? g : g.contiguous());
        } else {
            prev.addInPlace(g);
        }
    }

    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Map<Tensor, Boolean> visited = new IdentityHashMap<>();
        Deque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        visited.put(root, true);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            int next = (Integer) top[1];
            Tensor[] inputs = t.node() == null ? new Tensor[0] : t.node().inputs();
            while (next < inputs.length && (inputs[next] == null || !inputs[next].requiresGrad() || visited.containsKey(inputs[next]))) next++;
            if (next < inputs.length) {
                top[1] = next + 1;
                visited.put(inputs[next], true);
                stack.push(new Object[] {inputs[next], 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return Collections.unmodifiableList(order);
    }
}
