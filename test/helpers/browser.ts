import fs from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { TestBaton } from './baton.js';
import { ROOT } from './process.js';
import { signInLink } from './web.js';

// Debian's Chromium, headless, driven by playwright-core, for the few tests that need a real
// browser (the web admin's rules are tested over plain HTTP). Screenshots go to OUT.

export const OUT = `${ROOT}test-output/web`;

export interface TestBrowser {
  /**
   * A fresh context (its own cookies and storage) whose page records anything a user should
   * never meet: a dialog (an injected alert), a script error, or a console error such as a
   * Content-Security-Policy violation.
   */
  openPage(viewport?: {
    width: number;
    height: number;
  }): Promise<{ page: Page; problems: string[] }>;
  /** Follows a one-time sign-in link for this owner, as a user clicking it would. */
  signInAs(page: Page, email: string): Promise<void>;
}

export function useBrowser(baton: TestBaton): TestBrowser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    await fs.mkdir(OUT, { recursive: true });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return {
    async openPage(viewport = { width: 1280, height: 900 }) {
      const context = await (browser as Browser).newContext({ viewport });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      return { page, problems };
    },
    async signInAs(page, email) {
      await page.goto(await signInLink(baton, email));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL('**/admin/projects');
    },
  };
}
