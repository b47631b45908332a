// Generates flow's Stripe data from the type declarations of the `stripe` npm package
// pinned in package.json:
//
//   stdlib/schemas/*.schema   every v1 object type (and the nested types it needs), with
//                             the first sentence of Stripe's description of each field
//   stdlib/events.txt         every webhook event type, its object, its description
//   stdlib/api/*.def          every v1 API method: verb, path, parameters, result
//
// The pinned version (22.5.0) is the one whose API version, 2026-07-29.dahlia, is the
// one flow sends as Stripe-Version and the one of Stripe's example objects that
// tests/stripe_fixtures.rs reads: move them together.
//
// Usage: node generate.mjs OUT_DIR   (OUT_DIR is the repository's `stdlib/` folder,
// or any empty folder to compare with it). The output is deterministic: everything is
// sorted, nothing depends on the clock or the machine.
//
// How the declarations become flow types:
//   `T | null`                      nullable (`?`)
//   `name?: T`                      `absent` (the key may be missing)
//   `string | Customer`             ref(customer) (an id, or the object when expanded)
//   `Metadata`                      metadata
//   `Decimal`                       decimal (Stripe sends a decimal string)
//   `Array<T>`                      list(T)
//   `ApiList<T>`                    object(T.list): a list object with `data: list(T)`
//   'a' | 'b' (| OtherString)       an enum; see OPEN ENUMS below
//   a union of object types         json, except as an event's data.object, a list's
//                                   element or an expandable reference's target, where
//                                   the members are merged into one type (see UNIONS)
//   `number`                        integer; decimal when the name says it is a rate or
//                                   a percentage (see DECIMAL_NAME)
//   a number that is a time         timestamp: the name says so (`created`, `…_at`,
//                                   `…_date`, `due_by`, `period_end`, see TIME_NAME)
//                                   or the doc does ("Time at which…", "Unix epoch",
//                                   "timestamp", see TIME_DOC), unless the doc speaks of
//                                   a count or a duration (NOT_TIME_DOC)
//   an integer amount               money when the same object has a `currency` field
//                                   (money(FIELD) when the currency field has another
//                                   name) and the name or doc says it is an amount
//   a string named `currency` or    currency
//   `…_currency`, or that the doc
//   calls an "ISO currency code"
//   a parameter that is an id        ref(OBJECT) when it is named as the object type and
//                                   its doc says it is an ID (`customer`, `invoice`)
//   `update`                        the field is a parameter of the object's
//                                   `…UpdateParams` (nested fields: of the nested param)
//   an interface with no fields,    json
//   `{ [key: string]: T }`
//   `DeletedX` (`deleted: true`)    an object type of its own, `deleted_x`
//
// What Stripe sends that the declarations leave out (legacy fields its examples still
// carry, objects the package does not declare) is written by hand in extras.schema and
// added here; an entry the declarations come to cover is an error, so it is removed.
//
// A string whose doc lists its values ("One of `a`, `b`…", "Possible values are…") is
// an open enum of those values: the list is prose, not part of the type.
//
// OPEN ENUMS. The package joins every enum with `OtherString`, so it says nothing about
// which lists grow. An enum is open (`enum+`: an unknown value is a warning, never an
// error) when
//   - the field is a code or a reason given by a network or an issuer (its name ends in
//     `code` or `_reason`, or is `reason`, `brand`, `network`, `wallet`), or
//   - it has more than 12 values (long lists, such as payment method types, grow), or
//   - its doc says values may be added.
// Every other enum is closed: `status` values, `object`, and the like.
//
// UNIONS. An event whose data.object is a union (`ExternalAccount` = BankAccount | Card)
// gets a merged object type named after the union (`external_account`): every field of
// every member; a field missing from a member is `absent`; a field whose types differ
// between members is json; `object` is the enum of the members' names.
//
// API methods are named as in Stripe's Python library: the node method name in
// snake_case (`voidInvoice` → `void_invoice`), `del` → `delete`; resources by their
// folder and file (`Checkout/Sessions.js` → `checkout.sessions`). The v2 API is left out.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgDir = path.join(here, 'node_modules', 'stripe');
const esm = path.join(pkgDir, 'esm');
const resDir = path.join(esm, 'resources');

const outDir = process.argv[2];
if (!outDir) {
  console.error('usage: node generate.mjs OUT_DIR');
  process.exit(2);
}
if (!fs.existsSync(resDir)) {
  console.error(`${resDir} is missing: run \`npm ci\` in ${here} first`);
  process.exit(2);
}
const stripeVersion = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
const apiVersion = (() => {
  const text = fs.readFileSync(path.join(esm, 'apiVersion.js'), 'utf8');
  const m = text.match(/ApiVersion\s*=\s*'([^']+)'/);
  return m ? m[1] : 'unknown';
})();
const GENERATED = `generated by scripts/stripe-schemas from stripe ${stripeVersion} (API ${apiVersion}); do not edit`;

// ------------------------------------------------------------------ the program

function walk(dir, out = []) {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) {
      if (name !== 'V2') walk(p, out);
    } else out.push(p);
  }
  return out;
}
const resourceFiles = walk(resDir);
const dts = resourceFiles.filter((f) => f.endsWith('.d.ts'));
const program = ts.createProgram(dts, {
  noEmit: true,
  skipLibCheck: true,
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  types: [],
});
const checker = program.getTypeChecker();

const rel = (file) => path.relative(resDir, file).split(path.sep).join('/');

function snake(name) {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

// The HTML entities Stripe's doc comments use, as the characters they stand for.
const ENTITIES = { '&mdash;': '\u2014', '&ndash;': '\u2013', '&nbsp;': ' ', '&quot;': '"', '&#39;': "'", '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/// The doc comment of a declaration as written (paragraphs kept).
function rawDocOf(node) {
  const sym = node.name ? checker.getSymbolAtLocation(node.name) : undefined;
  if (!sym) return '';
  return ts.displayPartsToString(sym.getDocumentationComment(checker));
}

function decodeEntities(text) {
  return text
    .replace(/&(mdash|ndash|nbsp|quot|#39|lt|gt|amp);/g, (e) => ENTITIES[e])
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(parseInt(n, 16)));
}

/// The doc comment of a declaration on one line, entities decoded.
function docOf(node) {
  return decodeEntities(rawDocOf(node).replace(/\s+/g, ' ').trim());
}

// DESCRIPTIONS. A field's description in the schemas is the first sentence of its doc
// comment, as plain text: a markdown link becomes its text, whitespace runs one space,
// HTML entities the characters they stand for, `"` becomes `'` (the files quote
// descriptions). A first sentence longer than DESCRIPTION_MAX characters is cut after
// the last word that fits, with `…`. Only the first sentence, because the descriptions
// are embedded in flow's binary: whole paragraphs would double the schemas' size.
const DESCRIPTION_MAX = 300;
// a full stop that does not end a sentence: `e.g.`, `i.e.`, `etc.`, `vs.`, `U.S.`
const ABBREVIATION = /(\be\.g|\bi\.e|\betc|\bvs|\bapprox|\bU\.S|\bNo)\.$/i;

function plainText(text) {
  return decodeEntities(text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\s+/g, ' ').trim());
}

function describe(raw) {
  const text = plainText(raw.split(/\n\s*\n/)[0]).replace(/"/g, "'");
  let end = text.length;
  for (const m of text.matchAll(/[.!?](?=\s)/g)) {
    if (!ABBREVIATION.test(text.slice(0, m.index + 1))) {
      end = m.index + 1;
      break;
    }
  }
  const first = text.slice(0, end);
  if (first.length <= DESCRIPTION_MAX) return first;
  const space = first.lastIndexOf(' ', DESCRIPTION_MAX - 1);
  return `${first.slice(0, space > 0 ? space : DESCRIPTION_MAX - 1).replace(/[\s,;:]+$/, '')}…`;
}

/// The declaration a type reference names, following imports.
function resolve(typeName) {
  let sym = checker.getSymbolAtLocation(typeName);
  if (!sym) return undefined;
  if (sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
  const decls = sym.declarations || [];
  return (
    decls.find((d) => ts.isInterfaceDeclaration(d)) ||
    decls.find((d) => ts.isTypeAliasDeclaration(d)) ||
    decls[0]
  );
}

/// The names of the declaration and of the namespaces around it, outermost first.
function qualified(decl) {
  const names = [decl.name.text];
  let n = decl.parent;
  while (n && !ts.isSourceFile(n)) {
    if (ts.isModuleDeclaration(n)) names.unshift(n.name.text);
    n = n.parent;
  }
  return names;
}

/// Members of an interface, its bases' first (own members win).
function members(decl) {
  const out = new Map();
  for (const h of decl.heritageClauses || []) {
    for (const t of h.types) {
      if (!ts.isIdentifier(t.expression) && !ts.isPropertyAccessExpression(t.expression)) continue;
      const base = resolve(ts.isIdentifier(t.expression) ? t.expression : t.expression.name);
      if (base && ts.isInterfaceDeclaration(base)) for (const [k, v] of members(base)) out.set(k, v);
    }
  }
  for (const m of decl.members) {
    if (ts.isPropertySignature(m) && m.name && (ts.isIdentifier(m.name) || ts.isStringLiteral(m.name))) {
      out.set(m.name.text, m);
    }
  }
  return out;
}

function objectLiteral(decl) {
  if (!ts.isInterfaceDeclaration(decl)) return undefined;
  const m = members(decl).get('object');
  if (!m || !m.type || !ts.isLiteralTypeNode(m.type) || !ts.isStringLiteral(m.type.literal)) return undefined;
  return m.type.literal.text;
}
function isDeleted(decl) {
  const m = members(decl).get('deleted');
  return !!(m && m.type && m.type.kind === ts.SyntaxKind.LiteralType && m.type.literal.kind === ts.SyntaxKind.TrueKeyword);
}

// Every top-level object interface of the resources: its flow name.
const objectName = new Map(); // InterfaceDeclaration -> name
for (const sf of program.getSourceFiles()) {
  if (!sf.fileName.startsWith(resDir) || sf.fileName.includes('/V2/')) continue;
  for (const st of sf.statements) {
    if (!ts.isInterfaceDeclaration(st)) continue;
    const lit = objectLiteral(st);
    if (!lit || lit === 'list' || lit === 'search_result' || lit === 'event') continue;
    objectName.set(st, isDeleted(st) ? `deleted_${lit}` : lit);
  }
}
// The event envelope is an object too.
for (const sf of program.getSourceFiles()) {
  if (!sf.fileName.endsWith('/resources/Events.d.ts')) continue;
  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st) && st.name.text === 'EventBase') objectName.set(st, 'event');
  }
}

const liveObjectNames = new Set([...objectName.entries()].filter(([d]) => !isDeleted(d)).map(([, n]) => n));

/// A top-level declaration's interface of the same name (the namespace's partner).
function topInterface(decl) {
  let n = decl;
  while (n.parent && !ts.isSourceFile(n.parent)) n = n.parent;
  if (ts.isModuleDeclaration(n)) {
    const sf = n.parent;
    return sf.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === n.name.text);
  }
  return n;
}

/// The flow name of any interface: a resource by its `object` value, a nested one by
/// the resource's name and the namespaces to it in snake_case.
function typeName(decl) {
  const q = qualified(decl);
  const top = topInterface(decl);
  const head = top && objectName.has(top) ? objectName.get(top) : snake(q[0]);
  return [head, ...q.slice(1).map(snake)].join('.');
}

// ------------------------------------------------------------------ type mapping

const DECIMAL_NAME = /(^|_)(percent|percentage|rate|ratio|fraction|latitude|longitude)(_|$)|_percent_|percent_off|exchange_rate/;
const MONEY_NAME = /amount|balance|total|subtotal|fee|_due$|_paid$|_remaining$|price|cost|_tax$|^tax$|net|_credited$|_refunded$|_captured$|_capturable$|_received$/;
const MONEY_NOT = /count|quantity|_at$|^created$|percent|_rate|exp_|month|year|days|_ms$|seconds|minutes|hours|position|number|version|decimal|iin/;

function isOtherString(node) {
  return ts.isTypeReferenceNode(node) && node.typeName.getText() === 'OtherString';
}

/// Flatten unions (through non-generic aliases of unions).
function unionParts(node) {
  if (ts.isParenthesizedTypeNode(node)) return unionParts(node.type);
  if (ts.isUnionTypeNode(node)) return node.types.flatMap(unionParts);
  return [node];
}

function isNull(node) {
  return (
    node.kind === ts.SyntaxKind.NullKeyword ||
    (ts.isLiteralTypeNode(node) && node.literal.kind === ts.SyntaxKind.NullKeyword)
  );
}

const TIME_NAME = /(^|_)(created|date|deadline|due_by|eta|start|end|anchor|time|until|on|before|after)$|_at$|^period_(start|end)$/;
const TIME_DOC = /Unix epoch|unix timestamp|\btimestamp\b|^(The )?(time|date)\b|\b(time|date) (at|by|on|before|after|when) which\b|^When\b/i;
const NOT_TIME_DOC = /milliseconds|number of|day of (the )?(month|week)|in (seconds|minutes|hours|days)\b|hour of|^Hour\b/i;
function isTime(field, doc) {
  if (field === 'created' || /_at$/.test(field) || /Unix epoch|unix timestamp/i.test(doc)) return true;
  return !NOT_TIME_DOC.test(doc) && (TIME_NAME.test(field) || TIME_DOC.test(doc));
}

/// A string whose doc lists its values ("One of `a`, `b` or `c`", "Possible values are
/// `x`, `y`"): an open enum of them (the list is prose, not a promise).
const PROSE_ENUM = /(\bone of|\bcan be|possible (enum )?values\b[^`.]*?\b(are|include)|\beither)\s*:?\s*`/i;
function proseEnum(field, doc) {
  if (field === 'id' || /_id$|currency|country/.test(field)) return undefined;
  const m = PROSE_ENUM.exec(doc);
  if (!m) return undefined;
  const values = [];
  for (const t of doc.slice(m.index).matchAll(/`([^`]+)`/g)) {
    const v = t[1];
    if (/^[a-z][a-z0-9_]*$/.test(v) && !['null', 'true', 'false'].includes(v) && !values.includes(v)) values.push(v);
  }
  return values.length >= 2 ? `enum+(${values.join('|')})` : undefined;
}

function openEnum(field, values, doc) {
  return (
    /code$|_reason$|^reason$|^brand$|^network$|^wallet$/.test(field) ||
    values.length > 12 ||
    /may (be )?(add|expand)|additional values|new values|more values|values (may|might) be added/i.test(doc)
  );
}

/// Context of a mapping: where the types it names go.
class Mapper {
  constructor(kind) {
    this.kind = kind; // 'object' or 'params'
    this.queue = [];
    this.named = new Map(); // decl -> name
  }
  nameOf(decl) {
    if (!this.named.has(decl)) {
      this.named.set(decl, this.kind === 'object' ? typeName(decl) : paramTypeName(decl));
      this.queue.push(decl);
    }
    return this.named.get(decl);
  }
}

/// A type node → { ty, nullable } in flow's type language; `field` and `doc` steer the
/// enum, timestamp and decimal rules.
function mapType(node, mapper, field, doc) {
  const parts = unionParts(node);
  const nullable = parts.some(isNull) || parts.some((p) => p.kind === ts.SyntaxKind.UndefinedKeyword);
  let rest = parts.filter((p) => !isNull(p) && p.kind !== ts.SyntaxKind.UndefinedKeyword);
  // Emptyable<T> = null | '' | T: the type is T, and it may be unset (null, sent as '').
  if (rest.length === 1 && ts.isTypeReferenceNode(rest[0]) && rest[0].typeName.getText() === 'Emptyable') {
    return { ...mapType(rest[0].typeArguments[0], mapper, field, doc), nullable: true };
  }
  // '' alongside other types: an unset marker in params.
  if (rest.length > 1) {
    rest = rest.filter((p) => !(ts.isLiteralTypeNode(p) && ts.isStringLiteral(p.literal) && p.literal.text === ''));
  }
  const lits = rest.filter((p) => ts.isLiteralTypeNode(p) && ts.isStringLiteral(p.literal));
  if (lits.length > 0 && lits.length + rest.filter(isOtherString).length === rest.length) {
    const values = [...new Set(lits.map((l) => l.literal.text))];
    const open = field !== 'object' && openEnum(field, values, doc);
    return { ty: `enum${open ? '+' : ''}(${values.join('|')})`, nullable };
  }
  if (rest.length === 1) return { ty: single(rest[0], mapper, field, doc), nullable };
  // `string | Customer | DeletedCustomer`: an expandable reference.
  const strings = rest.filter((p) => p.kind === ts.SyntaxKind.StringKeyword);
  const refs = rest.filter((p) => p.kind !== ts.SyntaxKind.StringKeyword);
  if (strings.length === 1 && refs.length >= 1 && refs.every(ts.isTypeReferenceNode)) {
    // each expanded form: an object type, or (in objects) a union of them
    // (`string | CustomerSource | DeletedCustomerSource` → ref(customer_source))
    const live = new Set();
    let known = true;
    for (const r of refs) {
      const d = resolve(r.typeName);
      if (d && objectName.has(d)) {
        if (!isDeleted(d)) live.add(objectName.get(d));
      } else if (d && ts.isTypeAliasDeclaration(d) && /^Deleted/.test(d.name.text)) {
        // the deleted forms of a union
      } else if (mapper.kind === 'object' && objectUnion(r)) {
        live.add(objectUnion(r));
      } else known = false;
    }
    if (known && live.size === 1) return { ty: `ref(${[...live][0]})`, nullable };
    return { ty: 'string', nullable };
  }
  // `true | false`
  if (rest.every((p) => p.kind === ts.SyntaxKind.BooleanKeyword || (ts.isLiteralTypeNode(p) && (p.literal.kind === ts.SyntaxKind.TrueKeyword || p.literal.kind === ts.SyntaxKind.FalseKeyword)))) {
    return { ty: 'bool', nullable };
  }
  return { ty: 'json', nullable };
}

function single(node, mapper, field, doc) {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword: {
      const prose = proseEnum(field, doc);
      if (prose) return prose;
      // a parameter that is the id of an object type of its name: a reference
      if (mapper.kind === 'params' && liveObjectNames.has(field) && /\bIDs?\b|identifier/i.test(doc)) {
        return `ref(${field})`;
      }
      return (field === 'currency' || /_currency$/.test(field) || /ISO currency code|ISO code for the currency|three-letter currency code/i.test(doc)) &&
        !/country|currencies/i.test(field)
        ? 'currency'
        : 'string';
    }
    case ts.SyntaxKind.NumberKeyword:
      if (isTime(field, doc)) return 'timestamp';
      return DECIMAL_NAME.test(field) ? 'decimal' : 'integer';
    case ts.SyntaxKind.BooleanKeyword:
    case ts.SyntaxKind.VoidKeyword:
      return 'bool';
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
    case ts.SyntaxKind.ObjectKeyword:
    case ts.SyntaxKind.TypeLiteral:
      return 'json';
    case ts.SyntaxKind.ArrayType:
      return `list(${listElem(node.elementType, mapper, field, doc)})`;
    case ts.SyntaxKind.LiteralType:
      if (node.literal.kind === ts.SyntaxKind.TrueKeyword || node.literal.kind === ts.SyntaxKind.FalseKeyword) return 'bool';
      if (ts.isNumericLiteral(node.literal)) return 'integer';
      return 'json';
    case ts.SyntaxKind.TypeReference:
      return reference(node, mapper, field, doc);
    default:
      return 'json';
  }
}

function listElem(node, mapper, field, doc) {
  const { ty, nullable } = mapType(node, mapper, field, doc);
  return nullable ? `${ty}?` : ty;
}

function reference(node, mapper, field, doc) {
  const name = node.typeName.getText();
  const last = name.split('.').pop();
  const args = node.typeArguments || [];
  if (last === 'Array' && args.length === 1) return `list(${listElem(args[0], mapper, field, doc)})`;
  if (last === 'Metadata' || last === 'MetadataParam') return 'metadata';
  if (last === 'Decimal') return 'decimal';
  if (last === 'OtherString') return 'string';
  if (last === 'RangeQueryParam' || last === 'Record') return 'json';
  if ((last === 'Partial' || last === 'Emptyable') && args.length === 1) return single(args[0], mapper, field, doc);
  if (last === 'ApiList' || last === 'ApiSearchResult') {
    const union = args.length === 1 && mapper.kind === 'object' ? objectUnion(args[0]) : undefined;
    const elem = union || (args.length === 1 ? mapType(args[0], mapper, field, doc).ty.replace(/^object\((.*)\)$/, '$1') : 'json');
    if (!/^[a-z0-9_.]+$/.test(elem)) return 'json';
    if (mapper.kind === 'object') listTypes.add(elem);
    return `object(${elem}.list)`;
  }
  const decl = resolve(node.typeName);
  if (!decl) return 'json';
  if (ts.isTypeAliasDeclaration(decl)) {
    if (decl.typeParameters && decl.typeParameters.length) return 'json';
    const { ty } = mapType(decl.type, mapper, field, doc);
    return ty;
  }
  if (ts.isInterfaceDeclaration(decl)) {
    // `interface Object {}`, `{ [key: string]: T }`: nothing to type
    if (members(decl).size === 0) return 'json';
    if (mapper.kind === 'object' && objectName.has(decl)) {
      mapper.nameOf(decl);
      return `object(${objectName.get(decl)})`;
    }
    return `object(${mapper.nameOf(decl)})`;
  }
  return 'json';
}

const listTypes = new Set();

/// A reference to an alias of a union of object types (`ExternalAccount`): the name of
/// its merged type, registered; otherwise undefined.
function objectUnion(node) {
  if (!ts.isTypeReferenceNode(node)) return undefined;
  const d = resolve(node.typeName);
  if (!d || !ts.isTypeAliasDeclaration(d)) return undefined;
  const parts = unionParts(d.type).map((p) => (ts.isTypeReferenceNode(p) ? resolve(p.typeName) : undefined));
  if (!parts.every((p) => p && objectName.has(p))) return undefined;
  const name = snake(d.name.text);
  for (const p of parts) objMapper.nameOf(p);
  unionTypes.set(name, parts);
  return name;
}
const unionTypes = new Map(); // name -> member decls

// ------------------------------------------------------------------ fields

/// The fields of an interface as lines `NAME TYPE [absent] [update]`, sorted as
/// declared (Stripe's order is alphabetical after `id` and `object`).
function fieldsOf(decl, mapper, updateDecl) {
  const ms = [...members(decl).entries()];
  const raw = [];
  for (const [name, m] of ms) {
    if (!m.type) continue;
    const doc = docOf(m);
    const { ty, nullable } = mapType(m.type, mapper, name, doc);
    raw.push({ name, ty, nullable, absent: !!m.questionToken, doc, description: describe(rawDocOf(m)) });
  }
  // Money: integer amounts beside a currency.
  const currencies = raw.filter((f) => f.ty === 'currency').map((f) => f.name);
  for (const f of raw) {
    if (f.ty !== 'integer' || currencies.length === 0) continue;
    if (MONEY_NOT.test(f.name)) continue;
    const isAmount = MONEY_NAME.test(f.name) || /in cents|smallest currency unit|minor unit|currency unit/i.test(f.doc);
    if (!isAmount) continue;
    // the currency named in the field's name (`amount_settlement` ↔ `settlement_currency`)
    let cur = currencies.includes('currency') ? 'currency' : currencies.length === 1 ? currencies[0] : undefined;
    for (const c of currencies) {
      const stem = c.replace(/_?currency$/, '');
      if (stem && f.name.includes(stem)) cur = c;
    }
    if (!cur) continue;
    f.ty = cur === 'currency' ? 'money' : `money(${cur})`;
  }
  const upd = updateDecl ? members(updateDecl) : new Map();
  // nested update params, for the nested types
  for (const f of raw) {
    f.update = upd.has(f.name) && f.name !== 'expand';
    const m = /^object\(([^)]+)\)$/.exec(f.ty);
    if (f.update && m && upd.get(f.name).type) {
      const p = unionParts(upd.get(f.name).type).find((t) => ts.isTypeReferenceNode(t));
      const target = p && resolve(p.typeName);
      const inner = p && p.typeName.getText() === 'Emptyable' && p.typeArguments ? p.typeArguments[0] : undefined;
      const pd = inner && ts.isTypeReferenceNode(inner) ? resolve(inner.typeName) : target;
      if (pd && ts.isInterfaceDeclaration(pd) && !nestedUpdate.has(m[1])) nestedUpdate.set(m[1], pd);
    }
  }
  return raw;
}
const nestedUpdate = new Map(); // nested type name -> its update params interface

function render(rows, cols) {
  // columns line up; a cell longer than 48 characters (a long enum) does not widen
  // its column, it only pushes the rest of its own line
  const w = Array.from({ length: cols }, (_, i) =>
    Math.max(0, ...rows.map((r) => (r[i] || '').length).filter((n) => n <= 48)),
  );
  return rows.map((r) => r.map((c, i) => (i + 1 < r.length ? (c || '').padEnd(w[i]) : c || '')).join('  ').trimEnd());
}

// ------------------------------------------------------------------ objects

const objects = new Map(); // name -> { fields, file }
const objMapper = new Mapper('object');

function updateParamsFor(decl) {
  // `SessionUpdateParams`, at the top of the file or in its namespace (`Checkout`)
  const want = `${decl.name.text}UpdateParams`;
  const find = (statements) => {
    for (const st of statements) {
      if (ts.isInterfaceDeclaration(st) && st.name.text === want) return st;
      if (ts.isModuleDeclaration(st) && st.body && ts.isModuleBlock(st.body)) {
        const inner = find(st.body.statements);
        if (inner) return inner;
      }
    }
    return undefined;
  };
  return find(decl.getSourceFile().statements);
}

function emitObject(decl) {
  const name = objMapper.nameOf(decl);
  if (objects.has(name)) {
    if (objects.get(name).decl !== decl) throw new Error(`two types are named ${name}`);
    return;
  }
  const upd = objectName.has(decl) ? updateParamsFor(decl) : nestedUpdate.get(name);
  objects.set(name, { decl, fields: fieldsOf(decl, objMapper, upd) });
}

for (const decl of [...objectName.keys()].sort((a, b) => objectName.get(a).localeCompare(objectName.get(b)))) {
  objMapper.nameOf(decl);
}
while (objMapper.queue.length) emitObject(objMapper.queue.shift());

// ------------------------------------------------------------------ events

const events = [];
for (const sf of program.getSourceFiles()) {
  if (!sf.fileName.endsWith('/resources/Events.d.ts')) continue;
  for (const st of sf.statements) {
    if (!ts.isInterfaceDeclaration(st) || !st.name.text.endsWith('Event')) continue;
    const ms = members(st);
    const type = ms.get('type');
    if (!type || !type.type || !ts.isLiteralTypeNode(type.type)) continue;
    const data = ms.get('data');
    const dataDecl = data && ts.isTypeReferenceNode(data.type) ? resolve(data.type.typeName) : undefined;
    const objMember = dataDecl && members(dataDecl).get('object');
    let object = 'json';
    if (objMember && ts.isTypeReferenceNode(objMember.type)) {
      const d = resolve(objMember.type.typeName);
      if (d && objectName.has(d)) object = objectName.get(d);
      else if (d && ts.isTypeAliasDeclaration(d)) object = objectUnion(objMember.type) || 'json'; else if (d && ts.isInterfaceDeclaration(d)) {
        object = objMapper.nameOf(d);
      }
    }
    events.push({ name: type.type.literal.text, object, doc: plainText(rawDocOf(st)) });
  }
}
while (objMapper.queue.length) emitObject(objMapper.queue.shift());

for (const [name, parts] of unionTypes) {
  if (objects.has(name)) throw new Error(`union ${name} clashes with an object type`);
  const byName = new Map();
  const memberFields = parts.map((p) => objects.get(objectName.get(p)).fields);
  for (const fs_ of memberFields) for (const f of fs_) if (!byName.has(f.name)) byName.set(f.name, []);
  const fields = [];
  for (const [fname] of [...byName].sort((a, b) => a[0].localeCompare(b[0]))) {
    const found = memberFields.map((fs_) => fs_.find((f) => f.name === fname));
    const present = found.filter(Boolean);
    const same = present.every((f) => f.ty === present[0].ty);
    let ty = same ? present[0].ty : 'json';
    if (fname === 'object') ty = `enum(${parts.map((p) => objectName.get(p)).join('|')})`;
    fields.push({
      name: fname,
      ty,
      nullable: present.some((f) => f.nullable),
      absent: found.some((f) => !f || f.absent),
      update: false,
      description: (present.find((f) => f.description) || {}).description || '',
    });
  }
  // id and object first, as in Stripe's objects
  fields.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  objects.set(name, { fields, union: parts.map((p) => objectName.get(p)) });
}
function rank(n) {
  return n === 'id' ? 0 : n === 'object' ? 1 : 2;
}

// Extras: what Stripe sends that the definitions do not declare (extras.schema).
{
  const text = fs.readFileSync(path.join(here, 'extras.schema'), 'utf8');
  let current = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trimEnd();
    if (!line.trim()) return;
    const at = `extras.schema:${i + 1}`;
    const head = /^object (\S+)$/.exec(line);
    if (head) {
      current = head[1];
      if (!objects.has(current)) objects.set(current, { fields: [], extra: true });
      return;
    }
    const m = /^\s+(\S+)\s+(\S+?)(\?)?((?:\s+(?:absent|update))*)$/.exec(line);
    if (!current || !m) throw new Error(`${at}: expected \`object NAME\` or \`  FIELD TYPE [absent] [update]\``);
    const o = objects.get(current);
    if (o.fields.some((f) => f.name === m[1])) throw new Error(`${at}: ${current}.${m[1]} is declared by the package now: remove it`);
    o.fields.push({ name: m[1], ty: m[2], nullable: !!m[3], absent: /absent/.test(m[4]), update: /update/.test(m[4]), extra: !o.extra });
  });
  for (const o of objects.values()) {
    if (o.fields.some((f) => f.extra)) o.fields.sort((a, b) => rank(a.name) - rank(b.name) || (a.name === b.name ? 0 : a.name < b.name ? -1 : 1));
  }
}

// List objects: `X.list` for every `ApiList<X>`.
for (const elem of listTypes) {
  const name = `${elem}.list`;
  if (objects.has(name)) throw new Error(`list type ${name} clashes`);
  objects.set(name, {
    fields: [
      { name: 'object', ty: 'enum(list)' },
      { name: 'data', ty: `list(object(${elem}))` },
      { name: 'has_more', ty: 'bool' },
      { name: 'total_count', ty: 'integer', absent: true },
      { name: 'url', ty: 'string' },
    ],
    list: true,
  });
}

// ------------------------------------------------------------------ API methods

const paramMapper = new Mapper('params');
let currentMethod = null; // `resource.method`, for naming nested param types
function paramTypeName(decl) {
  // [Apps?, SecretCreateParams, Scope, …]: named after the method whose params hold it
  const q = qualified(decl);
  const i = q.findIndex((n) => /Params$/.test(n));
  const cur = currentMethod && currentMethod.params;
  if (i >= 0 && cur && q[i] === cur.name.text && decl.getSourceFile() === cur.getSourceFile()) {
    return [currentMethod.name, ...q.slice(i + 1).map(snake)].join('.');
  }
  if (i >= 0) return [snake(q[i].replace(/Params$/, '')), ...q.slice(i + 1).map(snake)].join('.');
  return snake(q.join(''));
}

/// Whether a nested params type belongs to the method being read.
function ownParams(decl) {
  const cur = currentMethod && currentMethod.params;
  const q = qualified(decl);
  return !!cur && q.includes(cur.name.text) && decl.getSourceFile() === cur.getSourceFile();
}

function resourceList() {
  const text = fs.readFileSync(path.join(esm, 'resources.js'), 'utf8');
  const files = new Set();
  for (const m of text.matchAll(/from '\.\/resources\/([^']+)\.js'/g)) {
    if (!m[1].startsWith('V2/')) files.add(m[1]);
  }
  return [...files].sort();
}

function pathOf(expr) {
  if (ts.isStringLiteral(expr) || ts.isNoSubstitutionTemplateLiteral(expr)) return expr.text;
  if (ts.isTemplateExpression(expr)) {
    let out = expr.head.text;
    for (const span of expr.templateSpans) {
      let e = span.expression;
      if (ts.isCallExpression(e) && e.arguments.length === 1) e = e.arguments[0];
      out += `{${snake(e.getText())}}` + span.literal.text;
    }
    return out;
  }
  return undefined;
}

function returnType(node) {
  // Promise<Response<X>>, ApiListPromise<X>, ApiSearchResultPromise<X>
  if (node && ts.isUnionTypeNode(node)) {
    // `Customer | DeletedCustomer`: the live object
    const live = [...new Set(node.types.map(returnType).filter((t) => t !== 'json' && !t.startsWith('deleted_')))];
    return live.length === 1 ? live[0] : 'json';
  }
  if (!node || !ts.isTypeReferenceNode(node)) return 'json';
  const name = node.typeName.getText();
  const args = node.typeArguments || [];
  if ((name === 'ApiListPromise' || name === 'ApiSearchResultPromise') && args.length === 1) {
    const r = returnType(args[0]);
    return r === 'json' ? 'json' : `list(${r})`;
  }
  if ((name === 'Promise' || name === 'Response') && args.length === 1) return returnType(args[0]);
  const decl = resolve(node.typeName);
  if (decl && objectName.has(decl)) return objectName.get(decl);
  // `Event`: the union of every event type, each an `EventBase`
  if (decl && ts.isTypeAliasDeclaration(decl) && decl.name.text === 'Event') return 'event';
  if (decl && ts.isTypeAliasDeclaration(decl) && unionTypes.has(snake(decl.name.text))) return snake(decl.name.text);
  return 'json';
}

const api = new Map(); // resource -> { object, methods, file }
const paramTypes = new Map(); // name -> { owner, fields }
for (const file of resourceList()) {
  const resource = file.split('/').map(snake).join('.');
  const dtsFile = program.getSourceFile(path.join(resDir, `${file}.d.ts`));
  const jsText = fs.readFileSync(path.join(resDir, `${file}.js`), 'utf8');
  const js = ts.createSourceFile(`${file}.js`, jsText, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const routes = new Map();
  js.forEachChild(function visit(n) {
    if (ts.isMethodDeclaration(n) && n.name && n.body) {
      let found;
      n.body.forEachChild(function find(c) {
        if (found) return;
        if (ts.isCallExpression(c) && ts.isPropertyAccessExpression(c.expression) && c.expression.name.text === '_makeRequest') {
          const [verb, p] = c.arguments;
          if (verb && ts.isStringLiteral(verb) && p) found = { verb: verb.text, path: pathOf(p) };
        }
        c.forEachChild(find);
      });
      if (found) routes.set(n.name.getText(), found);
    }
    n.forEachChild(visit);
  });
  const cls = dtsFile && dtsFile.statements.find((s) => ts.isClassDeclaration(s));
  if (!cls) continue;
  const methods = [];
  for (const m of cls.members) {
    if (!ts.isMethodDeclaration(m) || !m.name) continue;
    const node = m.name.getText();
    const route = routes.get(node);
    if (!route || !route.path) continue;
    const py = node === 'del' ? 'delete' : snake(node);
    const params = m.parameters.filter((p) => p.name.getText() !== 'options');
    const pathParams = params.filter((p) => p.name.getText() !== 'params');
    const paramsNode = params.find((p) => p.type && ts.isTypeReferenceNode(p.type) && /Params$/.test(p.type.typeName.getText()));
    const paramsDecl = paramsNode && resolve(paramsNode.type.typeName);
    // path placeholders are named as in the JS (`{id}`, `{invoice_id}`)
    const placeholders = [...route.path.matchAll(/\{([a-z_0-9]+)\}/g)].map((x) => x[1]);
    if (placeholders.length !== pathParams.length) {
      throw new Error(`${resource}.${py}: ${placeholders.length} path parameters in ${route.path}, ${pathParams.length} in the declaration`);
    }
    currentMethod = { name: `${resource}.${py}`, params: paramsDecl };
    let fields = [];
    if (paramsDecl && ts.isInterfaceDeclaration(paramsDecl)) fields = fieldsOf(paramsDecl, paramMapper, undefined);
    const nested = [];
    while (paramMapper.queue.length) {
      const d = paramMapper.queue.shift();
      const name = paramMapper.named.get(d);
      if (paramTypes.has(name)) continue;
      paramTypes.set(name, { owner: ownParams(d) ? resource : 'shared', fields: fieldsOf(d, paramMapper, undefined) });
      nested.push(name);
    }
    methods.push({
      name: py,
      verb: route.verb,
      path: route.path,
      pathParams: placeholders,
      required: !!paramsNode && !paramsNode.questionToken,
      fields,
      returns: returnType(m.type),
      doc: firstSentence(docOf(m)),
    });
  }
  if (methods.length === 0) continue;
  methods.sort((a, b) => a.name.localeCompare(b.name));
  const objectOf =
    (methods.find((x) => x.name === 'retrieve') || methods.find((x) => x.name === 'create') || methods.find((x) => !x.returns.startsWith('list(') && x.returns !== 'json') || {}).returns || '-';
  api.set(resource, { object: objectOf === 'json' ? '-' : objectOf.replace(/^list\((.*)\)$/, '$1'), methods });
}

function firstSentence(doc) {
  const s = doc.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/"/g, "'");
  const m = s.match(/^(.*?[.!?])(\s|$)/);
  return (m ? m[1] : s).trim();
}

// ------------------------------------------------------------------ writing

const written = [];
function write(rel_, text) {
  const p = path.join(outDir, rel_);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  written.push(rel_);
}

function fieldRows(fields) {
  return fields.map((f) => [
    `  ${f.name}`,
    `${f.ty}${f.nullable ? '?' : ''}`,
    // the description is not aligned in a column of its own: the padding would cost
    // ~90 KB of the binary
    [
      [f.absent ? 'absent' : '', f.update ? 'update' : ''].filter(Boolean).join(' '),
      f.description ? `"${f.description}"` : '',
      f.extra ? '# from extras.schema' : '',
    ].filter(Boolean).join('  '),
  ]);
}

// One schema file per resource object, with its nested types; union and list types
// beside their element's.
const files = new Map();
const fileOf = (name) => {
  // the resource whose name is the longest prefix of `name`
  let best = name;
  for (let cut = name.length; cut > 0; cut = name.lastIndexOf('.', cut - 1)) {
    const head = name.slice(0, cut);
    const o = objects.get(head);
    if (o && o.decl && objectName.has(o.decl)) {
      best = head;
      break;
    }
    if (cut <= 0) break;
  }
  return best.replace(/^deleted_/, '');
};
for (const name of [...objects.keys()].sort()) {
  let f = fileOf(name);
  if (name.endsWith('.list')) f = fileOf(name.slice(0, -'.list'.length));
  if (!files.has(f)) files.set(f, []);
  files.get(f).push(name);
}
fs.rmSync(path.join(outDir, 'schemas'), { recursive: true, force: true });
fs.rmSync(path.join(outDir, 'api'), { recursive: true, force: true });
for (const [file, names] of [...files].sort((a, b) => a[0].localeCompare(b[0]))) {
  const out = [`# ${GENERATED}`];
  for (const name of names) {
    const o = objects.get(name);
    out.push('');
    if (o.union) out.push(`# one of: ${o.union.join(', ')}`);
    if (o.extra) out.push('# not in the definitions: from scripts/stripe-schemas/extras.schema');
    out.push(`object ${name}`);
    out.push(...render(fieldRows(o.fields), 3));
  }
  write(`schemas/${file}.schema`, out.join('\n') + '\n');
}

{
  const out = [
    `# Webhook event types: the type of their data.object, then what they mean.`,
    `# ${GENERATED}`,
  ];
  const rows = [...events]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => [e.name, e.object, e.doc]);
  out.push(...render(rows, 3));
  write('events.txt', out.join('\n') + '\n');
}

for (const [resource, r] of [...api].sort((a, b) => a[0].localeCompare(b[0]))) {
  const out = [`# ${GENERATED}`, '', `resource ${resource} ${r.object}`];
  for (const m of r.methods) {
    out.push('');
    out.push(`method ${m.name} ${m.verb} ${m.path} -> ${m.returns}${m.doc ? `  "${m.doc}"` : ''}`);
    const rows = [
      ...m.pathParams.map((p) => [`  ${p}`, 'string', 'path']),
      ...m.fields.map((f) => [`  ${f.name}`, `${f.ty}${f.nullable ? '?' : ''}`, f.absent ? 'optional' : '']),
    ];
    if (rows.length) out.push(...render(rows, 3));
  }
  const mine = [...paramTypes].filter(([, p]) => p.owner === resource).sort((a, b) => a[0].localeCompare(b[0]));
  for (const [name, p] of mine) {
    out.push('', `params ${name}`);
    out.push(...render(p.fields.map((f) => [`  ${f.name}`, `${f.ty}${f.nullable ? '?' : ''}`, f.absent ? 'optional' : '']), 3));
  }
  write(`api/${resource}.def`, out.join('\n') + '\n');
}
{
  const shared = [...paramTypes].filter(([, p]) => p.owner === 'shared').sort((a, b) => a[0].localeCompare(b[0]));
  const out = [`# Parameter types used by several resources. ${GENERATED}`];
  for (const [name, p] of shared) {
    out.push('', `params ${name}`);
    out.push(...render(p.fields.map((f) => [`  ${f.name}`, `${f.ty}${f.nullable ? '?' : ''}`, f.absent ? 'optional' : '']), 3));
  }
  write('api/shared.def', out.join('\n') + '\n');
}

const methodCount = [...api.values()].reduce((n, r) => n + r.methods.length, 0);
console.error(
  `stripe ${stripeVersion}: ${objects.size} object types in ${files.size} schema files, ${events.length} event types, ` +
    `${api.size} resources with ${methodCount} methods, ${paramTypes.size} parameter types`,
);
