/** Maximum length of a stored error message, in characters, so a diff quoted in an error cannot bloat the file. */
const MAX_ERROR_LENGTH = 2000;

export interface ErrorDetails {
  message: string;
  errorClass: string;
  errorCode: string | null;
}

/** Extracts the message, class name and stable code of a thrown value for storage. */
export function describeError(error: unknown): ErrorDetails {
  const message = error instanceof Error ? error.message : String(error);
  const errorClass = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;

  return {
    message: message.length > MAX_ERROR_LENGTH ? `${message.slice(0, MAX_ERROR_LENGTH)}…` : message,
    errorClass,
    errorCode: typeof code === 'string' ? code : null,
  };
}
