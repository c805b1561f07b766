import { AwsError } from '../../core/aws-error';
import { type OperationHandler, requireString } from '../../core/service';
import type { IamUser } from '../../core/world';
import { authorizedUser, entityAlreadyExists, noSuchEntity, targetUserName, validationError } from './common';

/**
 * Console passwords (login profiles). The sandbox checks a password and forgets it: IAM never
 * returns one, and nothing here signs in to a console, so only the profile's existence is kept.
 */
export const loginProfileOperations: Record<string, OperationHandler> = {
  CreateLoginProfile: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:CreateLoginProfile', targetUserName(ctx, input));
    checkPassword(requireString(input, 'Password'));
    if (user.loginProfile)
      throw entityAlreadyExists(`Login Profile for user ${user.userName} already exists.`);
    user.loginProfile = {
      createDate: ctx.world.clock.now(),
      passwordResetRequired: input.PasswordResetRequired === 'true',
    };
    return { LoginProfile: loginProfileShape(user, user.loginProfile) };
  },

  GetLoginProfile: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:GetLoginProfile', targetUserName(ctx, input));
    return { LoginProfile: loginProfileShape(user, profileOf(user)) };
  },

  UpdateLoginProfile: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:UpdateLoginProfile', targetUserName(ctx, input));
    const profile = profileOf(user);
    if (typeof input.Password === 'string') checkPassword(input.Password);
    if (input.PasswordResetRequired !== undefined) {
      profile.passwordResetRequired = input.PasswordResetRequired === 'true';
    }
    return undefined;
  },

  DeleteLoginProfile: async (ctx, input) => {
    const user = await authorizedUser(ctx, 'iam:DeleteLoginProfile', targetUserName(ctx, input));
    profileOf(user);
    delete user.loginProfile;
    return undefined;
  },
};

function profileOf(user: IamUser): NonNullable<IamUser['loginProfile']> {
  if (!user.loginProfile) throw noSuchEntity(`Login Profile for User ${user.userName} cannot be found.`);
  return user.loginProfile;
}

function loginProfileShape(user: IamUser, profile: NonNullable<IamUser['loginProfile']>) {
  return {
    UserName: user.userName,
    CreateDate: profile.createDate,
    PasswordResetRequired: profile.passwordResetRequired,
  };
}

/**
 * The member's constraints, then IAM's default password policy (an account without a custom
 * one): 8 to 128 characters, at least three of uppercase, lowercase, digits and symbols. The
 * message never repeats the password.
 */
function checkPassword(password: string): void {
  if (password.length > 128 || ![...password].every(isPasswordCharacter)) {
    throw validationError(
      'password',
      '***',
      'Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+',
    );
  }
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((kind) => kind.test(password)).length;
  if (password.length < 8 || kinds < 3) {
    throw new AwsError(
      'PasswordPolicyViolation',
      'Password does not conform to the account password policy.',
      400,
    );
  }
}

/** IAM's password pattern `[\u0009\u000A\u000D\u0020-\u00FF]+`: tab, LF, CR, then space to U+00FF. */
function isPasswordCharacter(character: string): boolean {
  const code = character.charCodeAt(0);
  return code === 0x09 || code === 0x0a || code === 0x0d || (code >= 0x20 && code <= 0xff);
}
