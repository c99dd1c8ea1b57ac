/**
 * What every element shares (SPEC.md section 9's conventions): an open shadow root with the
 * adopted style sheet; attributes mirrored by properties; the program editor with its error
 * area underneath; a status line with a retry button; an aria-live readout; a lazy start when
 * the element scrolls into view; `adjoint-result` and `adjoint-error` events; and `ready`.
 * Nothing is ever thrown out of an element: whatever goes wrong is shown inside it.
 */
import { AttributeError, parseChoice, parseComputeMode, propertyName } from './attributes.js';
import { ServiceError, type Route, type Service } from './api.js';
import { h } from './dom.js';
import { sheet } from './styles.js';

/** The service's base URL: the folder above the script's own (…/widget/adjoint.js → …/). */
export const DEFAULT_API = new URL('../', import.meta.url).href.replace(/\/$/, '');

/** Attributes every element takes. */
export const COMMON_ATTRIBUTES = ['program', 'api', 'api-key', 'compute', 'theme', 'readonly', 'loading', 'label'] as const;

const THEMES = ['auto', 'light', 'dark'] as const;

/** An attribute as a property: strings (objects written as JSON), or booleans for presence. */
export interface AttributeSpec {
  readonly name: string;
  readonly boolean?: boolean;
}

/** Defines a reflecting property for each attribute on `cls`'s prototype: `el.ranges = {...}` sets `ranges='{...}'`. */
export function reflect(cls: { prototype: HTMLElement }, specs: readonly AttributeSpec[]): void {
  for (const spec of specs) {
    const property = propertyName(spec.name);
    if (Object.getOwnPropertyDescriptor(cls.prototype, property) !== undefined) continue;
    Object.defineProperty(cls.prototype, property, {
      configurable: true,
      enumerable: true,
      get(this: HTMLElement) {
        return spec.boolean === true ? this.hasAttribute(spec.name) : this.getAttribute(spec.name);
      },
      set(this: HTMLElement, value: unknown) {
        if (spec.boolean === true) this.toggleAttribute(spec.name, Boolean(value));
        else if (value === null || value === undefined) this.removeAttribute(spec.name);
        else this.setAttribute(spec.name, typeof value === 'string' ? value : JSON.stringify(value));
      },
    });
  }
}

let counter = 0;

export abstract class AdjointElement extends HTMLElement {
  /** The program shown when the element has no `program` attribute. */
  protected abstract readonly defaultProgram: string;
  /** The element's accessible name when it has no `label`. */
  protected abstract readonly defaultLabel: string;

  protected readonly root: ShadowRoot;
  protected readonly frame: HTMLDivElement;
  protected readonly editor: HTMLTextAreaElement;
  protected readonly errorBox: HTMLDivElement;
  protected readonly body: HTMLDivElement;
  protected readonly statusBox: HTMLSpanElement;
  protected readonly retryButton: HTMLButtonElement;
  /** Where the last request was computed: by the service (its host), or in this browser. */
  private readonly badge: HTMLSpanElement;
  protected readonly readout: HTMLDivElement;
  private readonly titleBox: HTMLParagraphElement;
  /** A unique prefix for ids inside the shadow root. */
  protected readonly uid = `a${++counter}`;

  /** Resolved once the first result is drawn (for adjoint-check: once it is ready for an answer). */
  readonly ready: Promise<void>;
  private resolveReady: () => void = () => {};
  protected started = false;
  private built = false;
  private observer: IntersectionObserver | null = null;
  private updateQueued = false;
  private editTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while the element writes its own attributes (a slider reflected into `inputs`): no update follows. */
  private quiet = false;
  /** What the retry button does: the last request again. */
  private retry: (() => void) | null = null;

  constructor() {
    super();
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.root = this.attachShadow({ mode: 'open' });
    const css = sheet();
    if (css !== null) this.root.adoptedStyleSheets = [css];
    const editorId = `${this.uid}-editor`;
    const errorId = `${this.uid}-error`;
    this.titleBox = h('p', { class: 'title', part: 'title', id: `${this.uid}-title` });
    this.editor = h('textarea', { id: editorId, part: 'editor', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', rows: 2, 'aria-describedby': errorId });
    this.errorBox = h('div', { id: errorId, part: 'error', class: 'error', role: 'alert', hidden: true });
    this.body = h('div', { class: 'body', part: 'body' });
    this.statusBox = h('span', { part: 'status', class: 'status' }, 'idle');
    this.retryButton = h('button', { type: 'button', part: 'retry', hidden: true }, 'Retry');
    this.badge = h('span', { part: 'badge', class: 'badge', hidden: true });
    this.readout = h('div', { part: 'readout', class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' });
    this.frame = h(
      'div',
      { class: 'frame', part: 'frame', role: 'group', 'aria-labelledby': `${this.uid}-title` },
      this.titleBox,
      h('label', { for: editorId }, 'Program'),
      this.editor,
      this.errorBox,
      this.body,
      h('div', { class: 'bar' }, this.statusBox, this.retryButton, this.badge),
      this.readout,
    );
    this.root.append(this.frame);
    this.retryButton.addEventListener('click', () => {
      this.retryButton.hidden = true;
      this.retry?.();
    });
    this.editor.addEventListener('input', () => {
      clearTimeout(this.editTimer);
      this.editTimer = setTimeout(() => this.commitEditor(), 350);
    });
    this.editor.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.commitEditor();
      }
    });
  }

  static get observedAttributes(): string[] {
    return [...COMMON_ATTRIBUTES];
  }

  connectedCallback(): void {
    // A property set before the element was defined is an own property hiding the accessor: set it again through it.
    for (const attribute of (this.constructor as typeof AdjointElement).observedAttributes) {
      const property = propertyName(attribute);
      if (Object.hasOwn(this, property)) {
        const value = (this as unknown as Record<string, unknown>)[property];
        delete (this as unknown as Record<string, unknown>)[property];
        (this as unknown as Record<string, unknown>)[property] = value;
      }
    }
    if (!this.built) {
      this.built = true;
      this.guard(() => this.build());
    }
    this.render();
    if (this.started) return;
    if (this.getAttribute('loading') === 'eager' || typeof IntersectionObserver === 'undefined') {
      this.start();
      return;
    }
    // Only the requests wait for the element to come into view: a wrong attribute is shown now.
    this.queueUpdate();
    this.observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) this.start();
      },
      { rootMargin: '200px' },
    );
    this.observer.observe(this);
  }

  disconnectedCallback(): void {
    this.observer?.disconnect();
    this.observer = null;
    this.stop();
  }

  attributeChangedCallback(name: string, old: string | null, value: string | null): void {
    if (old === value || this.quiet) return;
    if (name === 'loading' && value === 'eager' && this.isConnected && !this.started) this.start();
    this.queueUpdate();
  }

  /** The program: the attribute, else the element's example. */
  get program(): string {
    return this.getAttribute('program') ?? this.defaultProgram;
  }

  set program(value: string) {
    this.setAttribute('program', String(value));
  }

  /** The service's base URL. */
  get api(): string {
    return (this.getAttribute('api') ?? DEFAULT_API).replace(/\/+$/, '');
  }

  set api(value: string) {
    this.setAttribute('api', value);
  }

  /** The API key sent as `Authorization: Bearer <key>`, or null. */
  get apiKey(): string | null {
    const key = this.getAttribute('api-key');
    return key === null || key.trim() === '' ? null : key.trim();
  }

  set apiKey(value: string | null) {
    if (value === null || value === undefined) this.removeAttribute('api-key');
    else this.setAttribute('api-key', String(value));
  }

  /** Where requests are computed: `auto` (the default), `service` or `local`, as the attribute says (a wrong one is shown by checkCommon). */
  get compute(): string | null {
    return this.getAttribute('compute');
  }

  set compute(value: string | null) {
    if (value === null || value === undefined) this.removeAttribute('compute');
    else this.setAttribute('compute', String(value));
  }

  /** Where requests go, with which key, whether they may be computed here instead; the badge says where each went. */
  protected get service(): Service {
    return { url: this.api, key: this.apiKey, mode: parseComputeMode(this.getAttribute('compute')), onRoute: (route) => this.showRoute(route) };
  }

  private showRoute(route: Route): void {
    this.badge.hidden = false;
    this.badge.dataset.where = route.where;
    if (route.where === 'local') {
      this.badge.textContent = 'computed in your browser';
      this.badge.removeAttribute('title');
    } else {
      this.badge.textContent = `computed by ${new URL(route.url).host}`;
      this.badge.title = route.url;
    }
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.observer?.disconnect();
    this.observer = null;
    this.queueUpdate();
  }

  /** Re-reads the attributes once, after the current task's attribute changes. */
  protected queueUpdate(): void {
    if (this.updateQueued) return;
    this.updateQueued = true;
    queueMicrotask(() => {
      this.updateQueued = false;
      this.render();
      if (this.started) this.guard(() => this.update());
      else if (this.isConnected) {
        this.guard(() => {
          this.validate();
          this.clearError();
        });
      }
    });
  }

  /** Writes attributes without an update (the element reflecting its own state). */
  protected quietly(write: () => void): void {
    this.quiet = true;
    try {
      write();
    } finally {
      this.quiet = false;
    }
  }

  private commitEditor(): void {
    clearTimeout(this.editTimer);
    if (this.editor.readOnly || this.editor.value === this.program) return;
    this.setAttribute('program', this.editor.value);
  }

  /** The parts every element has, brought in line with the attributes. */
  private render(): void {
    this.titleBox.textContent = this.getAttribute('label') ?? this.defaultLabel;
    if (this.editor.value !== this.program && this.root.activeElement !== this.editor) this.editor.value = this.program;
    this.editor.rows = Math.min(8, Math.max(1, this.program.split('\n').length));
    this.editor.readOnly = this.hasAttribute('readonly');
    this.editor.setAttribute('aria-readonly', String(this.editor.readOnly));
  }

  /** Reads the common attributes that can be wrong. */
  protected checkCommon(): void {
    parseChoice('theme', this.getAttribute('theme'), THEMES, 'auto');
    parseChoice('loading', this.getAttribute('loading'), ['lazy', 'eager'] as const, 'lazy');
    parseComputeMode(this.getAttribute('compute'));
    const api = this.api;
    try {
      new URL(api);
    } catch {
      throw new AttributeError('api', `api="${api.slice(0, 60)}" is not a URL; write the service's address, as api="https://adjoint.example.org"`);
    }
    const key = this.apiKey;
    // fetch refuses a header value with spaces or characters outside ASCII: said here, not as a service that is down.
    if (key !== null && !/^[\x21-\x7e]+$/.test(key)) throw new AttributeError('api-key', 'api-key must be one key, in printable ASCII without spaces, as the service\'s API_KEYS lists it');
  }

  /** Builds the element's own controls into `this.body` (once). */
  protected abstract build(): void;
  /**
   * Reads every attribute that can be wrong and throws an AttributeError for the first that is;
   * sends nothing. Run before the element starts (while it waits to scroll into view).
   */
  protected abstract validate(): void;
  /** Reads the attributes and asks the service what they call for. */
  protected abstract update(): void;
  /** Stops whatever is in flight (the element left the page). */
  protected abstract stop(): void;

  /** Runs `fn`, showing whatever it throws inside the element. */
  protected guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.fail(e);
    }
  }

  protected setStatus(state: 'idle' | 'loading' | 'error' | 'stopped', text: string = state === 'loading' ? 'loading…' : state): void {
    this.statusBox.textContent = text;
    this.statusBox.className = `status ${state}`;
    this.frame.setAttribute('aria-busy', String(state === 'loading'));
    this.dataset.state = state;
  }

  protected clearError(): void {
    this.errorBox.textContent = '';
    this.errorBox.hidden = true;
    this.retryButton.hidden = true;
    this.editor.removeAttribute('aria-invalid');
  }

  /**
   * Shows what went wrong and fires `adjoint-error`. `retry`, for a request that may succeed if
   * sent again, is offered by the retry button.
   */
  protected fail(e: unknown, retry: (() => void) | null = null): void {
    if (e instanceof DOMException && e.name === 'AbortError') return;
    // The attribute error already shown, found again (the element scrolled into view): no second event.
    if (e instanceof AttributeError && !this.errorBox.hidden && this.errorBox.textContent === e.message) return;
    let message: string;
    let detail: unknown;
    let retryable = false;
    if (e instanceof AttributeError) {
      message = e.message;
      detail = { code: 'INVALID_ATTRIBUTE', attribute: e.attribute, detail: e.message };
    } else if (e instanceof ServiceError) {
      message = e.message;
      detail = e.detail;
      retryable = e.retryable;
      if (e.kind === 'program') this.editor.setAttribute('aria-invalid', 'true');
    } else {
      message = `Something went wrong in the widget: ${e instanceof Error ? e.message : String(e)}`;
      detail = { code: 'WIDGET', detail: message };
    }
    this.errorBox.textContent = message;
    this.errorBox.hidden = false;
    this.retry = retryable ? retry : null;
    this.retryButton.hidden = this.retry === null;
    this.setStatus('error');
    this.announce(message);
    this.dispatchEvent(new CustomEvent('adjoint-error', { detail, bubbles: true, composed: true }));
  }

  /** A result drawn: `adjoint-result` fires and `ready` resolves. */
  protected drawn(detail: unknown): void {
    this.setStatus('idle');
    this.dispatchEvent(new CustomEvent('adjoint-result', { detail, bubbles: true, composed: true }));
    this.resolveReady();
  }

  /** For elements with nothing to fetch before the student acts (adjoint-check). */
  protected markReady(): void {
    this.resolveReady();
  }

  protected announce(text: string): void {
    this.readout.textContent = text;
  }
}
