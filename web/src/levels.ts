// The level colours' switch and legend (toolbar): on by default, kept per browser. The
// legend lists the classes the game profile knows, in their colours.
import { savePrefs, type Prefs } from "./prefs";
import { EMPTY_VOCABULARY, LineClassifier, type Vocabulary } from "./vocabulary";

export interface LevelElements {
  readonly toggle: HTMLButtonElement;
  readonly legend: HTMLElement;
}

export class LevelSwitch {
  private classifier = new LineClassifier(EMPTY_VOCABULARY);

  constructor(
    private readonly el: LevelElements,
    private readonly prefs: Prefs,
    /** Told the classifier to colour with, or null when the switch is off. */
    private readonly onChange: (levels: LineClassifier | null) => void,
  ) {
    el.toggle.addEventListener("click", () => {
      prefs.levels = !prefs.levels;
      savePrefs(prefs);
      this.render();
      this.onChange(this.active);
    });
    this.render();
  }

  /** How the game's lines read, once the server has said (empty: no switch, no legend). */
  setVocabulary(vocabulary: Vocabulary): void {
    this.classifier = new LineClassifier(vocabulary);
    const items = vocabulary.lineClasses.map((line) => {
      const item = document.createElement("span");
      item.dataset["level"] = line.name;
      item.textContent = line.label.toLowerCase();
      return item;
    });
    this.el.legend.replaceChildren(...items);
    this.render();
    this.onChange(this.active);
  }

  get vocabulary(): LineClassifier {
    return this.classifier;
  }

  get isOn(): boolean {
    return this.prefs.levels && !this.classifier.isEmpty;
  }

  get active(): LineClassifier | null {
    return this.isOn ? this.classifier : null;
  }

  private render(): void {
    const known = !this.classifier.isEmpty;
    this.el.toggle.hidden = !known;
    this.el.legend.hidden = !known;
    this.el.toggle.setAttribute("aria-pressed", String(this.prefs.levels));
    document.getElementById("app")?.classList.toggle("levels-on", this.isOn);
  }
}
