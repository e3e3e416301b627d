/** A key file or key that cannot be used; the message names the file (or key) and why. */
export class KeyFileError extends Error {
  override name = "KeyFileError";
}
