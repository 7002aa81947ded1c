r"""The preamble of ``report.tex``: Latin Modern in T1, the page, and the macros the renderer
emits (verdicts, quotes, readings, derivation chains, tables and figures that fit their column).
"""

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[margin=1.4cm,top=1.3cm,bottom=1.6cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{textcomp}
\usepackage{amsmath,amssymb}
\usepackage{microtype}
\usepackage{booktabs,longtable,array,tabularx}
\usepackage{graphicx}
\usepackage{xcolor}
\usepackage{multicol}
\usepackage[hidelinks]{hyperref}
\pdfinfoomitdate=1
\pdftrailerid{}
\setlength{\parindent}{0pt}
\setlength{\parskip}{1pt plus 1pt}
% a line that cannot be broken well (a value without break points) is set looser, never
% wider than the text
\setlength{\emergencystretch}{3em}
\setcounter{tocdepth}{1}
\renewcommand{\topfraction}{0.85}
\renewcommand{\bottomfraction}{0.7}
\renewcommand{\textfraction}{0.1}
\renewcommand{\floatpagefraction}{0.75}
\setlength{\textfloatsep}{8pt plus 2pt minus 2pt}
\setlength{\floatsep}{6pt plus 2pt minus 2pt}
\setlength{\intextsep}{6pt plus 2pt minus 2pt}
\allowdisplaybreaks
\definecolor{vverified}{rgb}{0.05,0.45,0.15}
\definecolor{vrefuted}{rgb}{0.75,0.05,0.05}
\definecolor{vunsourced}{rgb}{0.70,0.35,0.00}
\definecolor{vopinion}{rgb}{0.40,0.40,0.40}
\definecolor{vderived}{rgb}{0.10,0.25,0.65}
\definecolor{vinconsistent}{rgb}{0.85,0.00,0.60}
\definecolor{srcquote}{rgb}{0.10,0.10,0.45}
\newcommand{\verdict}[2]{\textsf{\bfseries\textcolor{#1}{#2}}}
\newcommand{\claimid}[1]{\texttt{#1}}
% the source's words: indented, in the quote colour, with the source line
\newenvironment{srcquote}[1]{\begin{list}{}{\leftmargin=1.5em\rightmargin=0pt
  \topsep=0pt\partopsep=0pt\parsep=1pt\itemsep=0pt}\item[]\leavevmode\color{srcquote}%
  \llap{\scriptsize\sffamily\textcolor{vopinion}{#1}\hspace{0.4em}}\ignorespaces}{\end{list}}
% how the toolkit reads them: sans-serif, labelled
\newcommand{\reading}[1]{\par{\sffamily\footnotesize\textit{Reading:} #1\par}}
\newcommand{\correction}[1]{\par{\textcolor{vrefuted}{\textbf{Correction.}} #1\par}}
\newcommand{\note}[1]{\par{\footnotesize\textit{Note.} #1\par}}
\newsavebox{\eqbox}
% display math at natural size, or scaled down to the line width if wider
\newcommand{\fitmath}[1]{\sbox{\eqbox}{$\displaystyle #1$}%
  \ifdim\wd\eqbox>\linewidth\resizebox{\linewidth}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
% the same in a box of width #1 (table cells), text style
\newcommand{\fitin}[2]{\sbox{\eqbox}{$#2$}%
  \ifdim\wd\eqbox>#1\resizebox{#1}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
% a value: inline when short, else centred on its own line
\newcommand{\val}[1]{\sbox{\eqbox}{$#1$}%
  \ifdim\wd\eqbox>0.8\linewidth\par{\centering\fitmath{#1}\par}\else$#1$\fi}
% one derivation chain: #1 on one line if it fits, else #2 (aligned rows)
\newlength{\eqmax}
\newcommand{\eqrow}[2]{\setlength{\eqmax}{\linewidth}\addtolength{\eqmax}{-2em}%
  \sbox{\eqbox}{$\displaystyle #1$}%
  \ifdim\wd\eqbox>\eqmax\sbox{\eqbox}{$\displaystyle\begin{aligned}#2\end{aligned}$}\fi
  \ifdim\wd\eqbox>\eqmax\resizebox{\eqmax}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
% a table at its size (#1); wider than the line, with less space between its columns, then
% with its text columns wrapped (#2); if even that is wider, scaled to the line width (the
% log says by how much)
\newcommand{\fittable}[2]{\sbox{\eqbox}{#1}%
  \ifdim\wd\eqbox>\linewidth\sbox{\eqbox}{\setlength{\tabcolsep}{2.5pt}#1}\fi
  \ifdim\wd\eqbox>\linewidth\sbox{\eqbox}{\setlength{\tabcolsep}{3pt}#2}\fi
  \ifdim\wd\eqbox>\linewidth\typeout{symconv: table scaled to \the\linewidth\space from
  \the\wd\eqbox}\resizebox{\linewidth}{!}{\usebox{\eqbox}}\else\usebox{\eqbox}\fi}
\newcommand{\steplabel}[1]{\tag*{\small\itshape #1}}
% the contents in two columns, without the space above each section's line
\makeatletter
\newcommand{\compacttoc}{\begingroup\let\addvspace\@gobble\small
  \begin{multicols}{2}\tableofcontents\end{multicols}\endgroup}
\makeatother
% a derivation chain, \chain{caption}{pieces}{aligned rows}: pieces are
% \chainpiece{lhs}\chaineq\chainpiece{rhs}..., set as one paragraph led by its caption that
% breaks only after an equals sign (continuation lines indented); a chain with a piece wider
% than the line is displayed as aligned rows (\eqrow), its caption as the tag
\newlength{\piecemax}
\newcommand{\measurepiece}[1]{\sbox{\eqbox}{$\displaystyle #1$}%
  \ifdim\wd\eqbox>\piecemax\global\piecemax=\wd\eqbox\fi}
\newcommand{\chainbox}[1]{{#1}}
\newcommand{\chain}[3]{\par\begingroup\global\piecemax=0pt
  \let\chainpiece\measurepiece\let\chaineq\relax\sbox{\eqbox}{#2}%
  \setlength{\eqmax}{\linewidth}\addtolength{\eqmax}{-2.5em}%
  \let\chainpiece\chainbox\def\chaineq{=}%
  \ifdim\piecemax>\eqmax
    \def\next{\begin{gather*}\eqrow{#2}{#3}\steplabel{#1}\end{gather*}}%
  \else\def\next{{\noindent\hangindent=1.5em\hangafter=1
    \rightskip=0pt plus 0.6\linewidth\relpenalty=0\binoppenalty=10000
    {\footnotesize\itshape #1:}\nobreak\hskip0.5em plus 0.5em$\displaystyle #2$\par}}\fi
  \next\endgroup}
% a claim's statement line; a derivation of one chain ends it when the chain fits beside the
% statement (on its last line or, flush right, on a line of its own), else it follows the
% source's words and the reading (\chainrest)
\newcommand{\claimhead}{\par\vspace{3pt plus 1pt}\noindent}
% claims in two columns, in the footnote size (8 pt: the main body fits 20 pages); the
% space is between claims, not within one
\newenvironment{claims}{\begin{multicols}{2}\footnotesize\setlength{\parskip}{0pt plus 1pt}}%
  {\end{multicols}}
\newif\ifchaindone
\newcommand{\keepone}[1]{#1}
\newcommand{\dropone}[1]{}
\newcommand{\chainhere}[3]{\setlength{\eqmax}{\linewidth}\addtolength{\eqmax}{-2em}%
  \sbox{\eqbox}{\let\chainpiece\chainbox\def\chaineq{=}$\displaystyle #2$\quad
  {\small\itshape #1}}%
  \ifdim\wd\eqbox>\eqmax\chaindonefalse\par\else\chaindonetrue
  {\unskip\nobreak\hfil\penalty50\hskip1.5em\hbox{}\nobreak\hfil\usebox{\eqbox}%
  \parfillskip=0pt\finalhyphendemerits=0\par}\fi
  \gdef\chainrestargs{\chain{#1}{#2}{#3}}}
\newcommand{\chainrest}{\ifchaindone\expandafter\dropone\else\expandafter\keepone\fi
  {\chainrestargs}}
% figures at one height: one beside its caption when that leaves the caption room, else as
% wide as the line; two side by side when they fit, each with its caption
\newlength{\figheight}\setlength{\figheight}{0.15\textheight}
\newsavebox{\figbox}\newsavebox{\figboxb}
\newlength{\figw}
\newcommand{\symfig}[2]{\sbox{\figbox}{\includegraphics[height=\figheight]{#1}}%
  \ifdim\wd\figbox>0.62\linewidth
  \includegraphics[width=\linewidth,height=\figheight,keepaspectratio]{#1}\caption{#2}%
  \else\setlength{\figw}{\linewidth}\addtolength{\figw}{-\wd\figbox}%
  \addtolength{\figw}{-1.5em}%
  \begin{minipage}[c]{\wd\figbox}\usebox{\figbox}\end{minipage}\hfill
  \begin{minipage}[c]{\figw}\caption{#2}\end{minipage}\fi}
\newcommand{\symfigpair}[4]{\sbox{\figbox}{\includegraphics[height=\figheight]{#1}}%
  \sbox{\figboxb}{\includegraphics[height=\figheight]{#3}}%
  \setlength{\figw}{\wd\figbox}\addtolength{\figw}{\wd\figboxb}%
  \ifdim\figw>0.97\linewidth\symfig{#1}{#2}\par\medskip\symfig{#3}{#4}\else
  \begin{minipage}[t]{0.485\linewidth}\centering\usebox{\figbox}\caption{#2}\end{minipage}%
  \hfill
  \begin{minipage}[t]{0.485\linewidth}\centering\usebox{\figboxb}\caption{#4}\end{minipage}%
  \fi}
\AtBeginDocument{\setlength{\abovedisplayskip}{2pt plus 1pt}%
  \setlength{\belowdisplayskip}{2pt plus 1pt}%
  \setlength{\abovedisplayshortskip}{2pt plus 2pt}%
  \setlength{\belowdisplayshortskip}{2pt plus 2pt}}
"""
