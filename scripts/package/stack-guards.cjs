'use strict';

/**
 * A local osls plugin (serverless.yml `plugins:`) with two jobs, both at packaging time:
 *
 * 1. Refuse parameters that cannot deploy, before anything is written: `custom.stackGuards.together`
 *    lists parameters that only work as a set (the webhook's URL without the secret holding its
 *    signing key would package a grant on Resource "", which IAM rejects mid-deploy).
 *
 * 2. Settle the conditions that parameters decide. osls parameters are substituted before
 *    CloudFormation sees the template, so a condition such as `!Equals ["", ""]` is a constant: its
 *    `Fn::If`s are replaced by the branch CloudFormation would take, its resources kept or dropped,
 *    and the condition removed. The template then holds only what deploys (no grant on Resource ""
 *    in an unused branch, no always-true condition), which is what the linters (cfn-lint, checkov)
 *    and test/stack read. Conditions on real CloudFormation values (a `Ref` to a template
 *    parameter) are left alone.
 */
class StackGuards {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      // Before package:cleanup, which would already empty .serverless/ (deploy packages first, so
      // this guards deploy too).
      'before:package:cleanup': () => this.checkParameters(),
      'after:aws:package:finalize:mergeCustomProviderResources': () =>
        settleConditions(this.serverless.service.provider.compiledCloudFormationTemplate),
    };
  }

  checkParameters() {
    const groups = this.serverless.service.custom?.stackGuards?.together ?? [];
    for (const group of groups) {
      const names = Object.keys(group);
      const set = names.filter((name) => String(group[name] ?? '') !== '');
      if (set.length > 0 && set.length < names.length) {
        const missing = names.filter((name) => !set.includes(name));
        throw new this.serverless.classes.Error(
          `The parameters ${names.join(' and ')} go together: ${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not, so set ${missing.length > 1 ? 'them' : 'it'} too (--param="${missing[0]}=...") or leave all of them unset.`,
        );
      }
    }
  }
}

const NO_VALUE = Symbol('AWS::NoValue');

/** The condition's value when parameters alone decide it; undefined when CloudFormation must. */
function constantCondition(body, conditions, seen = new Set()) {
  if (body === null || typeof body !== 'object') return undefined;
  if (typeof body.Condition === 'string') {
    if (seen.has(body.Condition)) return undefined;
    return constantCondition(conditions[body.Condition], conditions, new Set([...seen, body.Condition]));
  }
  const [fn] = Object.keys(body);
  const args = body[fn];
  if (!Array.isArray(args)) return undefined;
  if (fn === 'Fn::Equals') {
    if (args.some((a) => a !== null && typeof a === 'object')) return undefined;
    return String(args[0]) === String(args[1]);
  }
  const values = args.map((a) => constantCondition(a, conditions, seen));
  if (values.includes(undefined)) return undefined;
  if (fn === 'Fn::Not') return !values[0];
  if (fn === 'Fn::And') return values.every(Boolean);
  if (fn === 'Fn::Or') return values.some(Boolean);
  return undefined;
}

function settleConditions(template) {
  const conditions = template.Conditions ?? {};
  const settled = new Map();
  for (const [name, body] of Object.entries(conditions)) {
    const value = constantCondition(body, conditions, new Set([name]));
    if (value !== undefined) settled.set(name, value);
  }
  if (settled.size === 0) return;

  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref' && value.Ref === 'AWS::NoValue') return NO_VALUE;
    if (keys.length === 1 && keys[0] === 'Fn::If') {
      const [name, yes, no] = value['Fn::If'];
      if (settled.has(name)) return walk(settled.get(name) ? yes : no);
      // CloudFormation's to decide: both branches stay, NoValue included.
      return { 'Fn::If': [name, restore(walk(yes)), restore(walk(no))] };
    }
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const resolved = walk(v);
      if (resolved !== NO_VALUE) out[k] = resolved;
    }
    return out;
  };
  // A NoValue still inside an unsettled Fn::If is CloudFormation's to remove: put it back.
  const restore = (value) => {
    if (value === NO_VALUE) return { Ref: 'AWS::NoValue' };
    if (Array.isArray(value)) return value.map(restore);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v)]));
  };
  const keepIf = (entry) => !settled.has(entry.Condition) || settled.get(entry.Condition);

  for (const section of ['Resources', 'Outputs']) {
    const entries = template[section] ?? {};
    for (const [id, entry] of Object.entries(entries)) {
      if (!keepIf(entry)) {
        delete entries[id];
        continue;
      }
      const next = walk(entry);
      if (settled.has(next.Condition)) delete next.Condition;
      entries[id] = restore(next);
    }
  }
  for (const name of settled.keys()) delete conditions[name];
  if (template.Conditions && Object.keys(template.Conditions).length === 0) delete template.Conditions;
}

module.exports = StackGuards;
module.exports.settleConditions = settleConditions;
