// Types of i18n.js for the TypeScript tests.
export declare const languages: readonly ["vi", "en"];
export declare const labels: Record<string, { vi: string; en: string }>;
export declare function t(lang: "vi" | "en", key: string, vars?: Record<string, string | number>): string;
export declare function pickLanguage(fromUrl: string | null, remembered: string | null): "vi" | "en";
