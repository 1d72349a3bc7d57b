/**
 * The refusals of caller verification, each with its own code so a client can tell "sign in
 * again" (401) from "you may not do this" (403) from "try later" (503).
 */
import { AppError } from "../errors.ts";

/** The credential is not a token of this project we can trust: forged, expired, wrong audience... */
export class InvalidTokenError extends AppError {
  constructor(reason: string) {
    super("invalid_token", 401, `Authorization token rejected: ${reason}`);
  }
}

/** An API key (apikey header or bearer) that is not one of this project's keys. */
export class InvalidApiKeyError extends AppError {
  constructor() {
    super("invalid_api_key", 401, "The API key is not one of this project's keys");
  }
}

/**
 * A verified token whose user auth.users no longer holds (the account was deleted while the token
 * had not yet expired). Found when a write for them is refused, so nothing was written.
 */
export class UserNotFoundError extends AppError {
  constructor() {
    super(
      "user_not_found",
      401,
      "The signed-in account no longer exists: sign in again (or sign up) to get a token for an existing account",
    );
  }
}

/** A verified anonymous sign-in asked for an action that spends the project's paid capacity. */
export class AnonymousNotAllowedError extends AppError {
  constructor(action: string) {
    super(
      "anonymous_not_allowed",
      403,
      `${action} spends paid capacity: sign in with an account (anonymous users may only read their own things)`,
    );
  }
}

/** A verified caller that is neither the service role nor an operator, at an operator-only function. */
export class OperatorOnlyError extends AppError {
  constructor(functionName: string) {
    super(
      "operator_only",
      403,
      `${functionName} is an operator tool: call it with the service role key or as a user with app_metadata.reelforge_role = "operator"`,
    );
  }
}

/** The project's signing keys could not be fetched, so no asymmetric token can be checked now. */
export class AuthUnavailableError extends AppError {
  constructor() {
    super("auth_unavailable", 503, "The project's JWT signing keys could not be fetched; try again shortly");
  }
}
