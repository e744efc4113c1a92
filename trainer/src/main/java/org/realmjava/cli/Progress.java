package org.realmjava.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on stderr when it is a terminal (or REALM_PROGRESS=1); silent otherwise. */
final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    Progress(String task, long total, String unit) {
        boolean show = "1".equals(System.getenv("REALM_PROGRESS"))
                || (System.console() != null && System.console().isTerminal());
        bar = show ? new ProgressBarBuilder().setTaskName(task).setInitialMax(total).setUnit(" " + unit, 1)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err)).showSpeed().build() : null;
    }

    /** True when the bar is drawn (a terminal, or REALM_PROGRESS=1). */
    boolean shown() {
        return bar != null;
    }

    void stepTo(long done) {
        if (bar != null) bar.stepTo(done);
    }

    /** Text after the bar (loss, tokens/s, ...). */
    void extra(String message) {
        if (bar != null) bar.setExtraMessage(" " + message);
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
