import { Alert } from '@mantine/core';
import type { StudioError } from '../../shared/errors';

/** A request's typed error, shown where the user acted. */
export function ErrorText({ error }: { error: StudioError | undefined }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" role="alert" data-testid="error" data-code={error.code} p="xs">
      {error.message}
    </Alert>
  );
}
