// The step-through screen: header, steps (left, or above on terminals narrower
// than 100 columns), the selected step's detail, the open question and the keys.
// It reads the UiStore on every frame the store announces and sends every key to
// store.handleKey; it keeps no state of its own except the terminal's size.

import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { Box, Text, useInput, useStdout, type Key } from "ink";
import type { UiStore } from "./store/index.js";
import { escapeControls } from "../../runtime/views/escape-controls.js";
import { Header } from "./Header.js";
import { StepList, stepRows } from "./StepList.js";
import { StepDetail } from "./StepDetail.js";
import { DialogPanel, panelFor } from "./DialogPanel.js";
import { Footer } from "./Footer.js";

export interface AppProps {
  store: UiStore;
  /** Colours on (NO_COLOR / FORCE_COLOR / TTY, decided by useColor). */
  color: boolean;
  /** The terminal's size when the stream does not say (tests); the stream wins when it does. */
  fallbackSize?: { columns: number; rows: number };
}

/** Below this width the steps go above the detail instead of beside it. */
export const WIDE = 100;
const MIN_COLUMNS = 40;
const MIN_ROWS = 10;

function useTerminalSize(fallback?: { columns: number; rows: number }) {
  const { stdout } = useStdout();
  const read = useCallback(
    () => ({ columns: stdout.columns || fallback?.columns || 80, rows: stdout.rows || fallback?.rows || 24 }),
    [stdout, fallback?.columns, fallback?.rows],
  );
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    onResize();
    stdout.on("resize", onResize);
    return () => {
      stdout.off("resize", onResize);
    };
  }, [stdout, read]);
  return size;
}

export function App({ store, color, fallbackSize }: AppProps) {
  useSyncExternalStore(store.subscribe, store.version);
  const { columns, rows } = useTerminalSize(fallbackSize);
  const onKey = useCallback((input: string, key: Key) => void store.handleKey(input, key), [store]);
  useInput(onKey, { isActive: store.canAnswer });

  // One row fewer than the terminal: a frame as tall as the screen makes Ink clear
  // the whole terminal on every frame.
  const height = Math.max(1, rows - 1);
  if (columns < MIN_COLUMNS || height < MIN_ROWS) {
    return (
      <Box flexDirection="column" width={columns}>
        <Text wrap="truncate-end">{`Terminal too small (${columns}x${rows}); need ${MIN_COLUMNS}x${MIN_ROWS + 1}.`}</Text>
        <Text wrap="truncate-end">{store.dialog ? `Waiting: ${store.dialog.kind}` : escapeControls(store.running?.title ?? "")}</Text>
      </Box>
    );
  }

  // A finished run's panel (a dry run's verdict with what failed or could not be
  // checked) may take more of the screen: nothing runs any more, and its warnings are the point.
  const share = store.dialog?.kind === "finished" ? 0.6 : 0.45;
  const panel = panelFor(store, columns - 4, Math.max(2, Math.floor(height * share) - 2));
  const panelHeight = panel ? panel.lines.length + 2 : 0;
  const bodyHeight = Math.max(2, height - 2 - 1 - panelHeight);
  const wide = columns >= WIDE;

  let body;
  if (wide) {
    const listWidth = Math.max(30, Math.min(56, Math.floor(columns * 0.36)));
    const detailWidth = columns - listWidth - 2;
    body = (
      <Box flexDirection="row" height={bodyHeight}>
        <Box width={listWidth}>
          <StepList store={store} width={listWidth - 1} height={bodyHeight} color={color} />
        </Box>
        <Box borderStyle="single" borderTop={false} borderBottom={false} borderRight={false} borderDimColor paddingLeft={1} height={bodyHeight}>
          <StepDetail store={store} width={detailWidth - 1} height={bodyHeight} color={color} />
        </Box>
      </Box>
    );
  } else {
    const need = stepRows(store, columns).rows.length + 1;
    const listHeight = Math.max(3, Math.min(need, Math.floor(bodyHeight * 0.4)));
    const detailHeight = Math.max(1, bodyHeight - listHeight - 1);
    body = (
      <Box flexDirection="column" height={bodyHeight}>
        <StepList store={store} width={columns} height={listHeight} color={color} />
        <Box borderStyle="single" borderLeft={false} borderBottom={false} borderRight={false} borderDimColor height={detailHeight + 1}>
          <StepDetail store={store} width={columns} height={detailHeight} color={color} />
        </Box>
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={columns} height={height}>
      <Header store={store} width={columns} color={color} />
      {body}
      {panel ? <DialogPanel panel={panel} width={columns} color={color} /> : null}
      <Footer store={store} width={columns} color={color} />
    </Box>
  );
}
