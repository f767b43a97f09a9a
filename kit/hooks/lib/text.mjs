// Text from elsewhere (a server's answer, a config file in the repository) reaches the user's
// terminal through the hooks' stderr, and the model through the session context. An escape
// sequence in a claim's ref could recolour, retitle or clear that terminal, or hide the line
// above it; a newline in a holder's name could forge a line of the refusal. So every piece of
// such text is made printable before it is printed, and the hooks' output passes the same
// filter once more on its way out.

// CSI (ESC [ ... final) and OSC (ESC ] ... BEL or ESC \) sequences, removed whole so that no
// "[31m" is left behind; the character classes are disjoint, so matching is linear. An OSC
// without its end loses only its ESC: the text after it stays visible.
const CSI = /\u001b\[[0-?]*[ -/]*[@-~]?/g;
const OSC = /\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)/g;
const OTHER_ESC = /\u001b[ -~]?/g;
// C0 and C1 controls, DEL, the line and paragraph separators, and the bidirectional overrides
// that can make text read differently than it is.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const CONTROL_KEEPING_NEWLINES =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const withoutEscapes = (s) => s.replace(OSC, '').replace(CSI, '').replace(OTHER_ESC, '');

/** One line of text: escape sequences removed, every other control character a space. */
export function oneLine(value) {
  return withoutEscapes(String(value)).replace(CONTROL, ' ');
}

/** Text meant to span lines: the same, but newlines are kept. */
export function printable(value) {
  return withoutEscapes(String(value)).replace(CONTROL_KEEPING_NEWLINES, ' ');
}
