/**
 * Whether progress may redraw lines on this stream. A terminal that reports no width (a
 * pseudo-terminal nobody sized, as under `script` in CI) cannot lay out a spinner or bars.
 */
export function canAnimate(stream: NodeJS.WriteStream): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0;
}
